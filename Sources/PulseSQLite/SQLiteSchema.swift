import GRDB
import PulseEngine

/// The durable schema. The invariants that can live in it do (ARCHITECTURE.md "The durable store is the final arbiter"):
/// one claim per (event, seat), unique emails, one booking per (user, idempotency key). A claim
/// belongs to the seat's active booking; a booking's seats are kept in `booking_seats`.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        email TEXT NOT NULL UNIQUE,
                        password_hash TEXT NOT NULL,
                        role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE TABLE events (
                        id TEXT PRIMARY KEY NOT NULL,
                        title TEXT NOT NULL,
                        venue TEXT NOT NULL,
                        date TEXT NOT NULL,
                        description TEXT,
                        is_active INTEGER NOT NULL,
                        rows INTEGER NOT NULL CHECK (rows BETWEEN 1 AND 26),
                        cols INTEGER NOT NULL CHECK (cols BETWEEN 1 AND 50),
                        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
                        created_at_ms INTEGER NOT NULL,
                        deleted INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX events_listing ON events (deleted, is_active, date, id);
                    CREATE TABLE bookings (
                        id TEXT PRIMARY KEY NOT NULL,
                        event_id TEXT NOT NULL REFERENCES events (id),
                        user_id TEXT NOT NULL REFERENCES users (id),
                        total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
                        status TEXT NOT NULL,
                        idempotency_key TEXT,
                        created_at_ms INTEGER NOT NULL,
                        UNIQUE (user_id, idempotency_key)
                    );
                    CREATE INDEX bookings_by_user ON bookings (user_id, created_at_ms, id);
                    CREATE TABLE seat_claims (
                        event_id TEXT NOT NULL,
                        seat_id TEXT NOT NULL,
                        booking_id TEXT NOT NULL REFERENCES bookings (id),
                        fence INTEGER NOT NULL,
                        position INTEGER NOT NULL,
                        PRIMARY KEY (event_id, seat_id)
                    );
                    CREATE INDEX seat_claims_by_booking ON seat_claims (booking_id, position);
                    CREATE TABLE fence_floors (
                        event_id TEXT NOT NULL,
                        seat_id TEXT NOT NULL,
                        floor INTEGER NOT NULL,
                        PRIMARY KEY (event_id, seat_id)
                    );
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value INTEGER NOT NULL
                    );
                    """)
        }
        // A booking's seats get a table of their own: a cancelled booking gives up its claims
        // (its seats may be sold again) but keeps its seats.
        migrator.registerMigration("v2-booking-seats") { db in
            try db.execute(
                sql: """
                    CREATE TABLE booking_seats (
                        booking_id TEXT NOT NULL REFERENCES bookings (id),
                        position INTEGER NOT NULL,
                        seat_id TEXT NOT NULL,
                        PRIMARY KEY (booking_id, position)
                    );
                    INSERT INTO booking_seats (booking_id, position, seat_id) SELECT booking_id, position, seat_id FROM seat_claims;
                    """)
        }
        // A cancellation's time and reason stay with the booking (PB-CHECKOUT-8, PB-CHECKOUT-9).
        migrator.registerMigration("v3-cancellation") { db in
            try db.execute(
                sql: """
                    ALTER TABLE bookings ADD COLUMN cancelled_at_ms INTEGER;
                    ALTER TABLE bookings ADD COLUMN cancellation_reason TEXT;
                    """)
        }
        return migrator
    }
}
