import CMongoc
import Glibc
import NIOPosix

/// Initialises the driver once. Its log keeps errors only: a warning such as an abort of a
/// transaction the server had already ended (after a write conflict) is expected here.
private let mongocInitialised: Void = {
    mongoc_init()
    mongoc_log_set_handler(
        { level, domain, message, _ in
            guard level.rawValue <= MONGOC_LOG_LEVEL_CRITICAL.rawValue, let message else { return }
            let line = Array("mongoc \(domain.map { String(cString: $0) } ?? ""): \(String(cString: message))\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }, nil)
}()

/// A pool of libmongoc clients for one MongoDB URL and database, and the threads its blocking
/// calls run on (never the Swift concurrency pool: a slow server must not stall the engine).
///
/// Every write uses write concern `majority` with journal; every read outside a transaction uses
/// read concern `majority`; transactions use read concern `snapshot`. So nothing Pulse reads can be
/// a write that was not committed, nor one a failover could roll back.
public final class MongoConnection: @unchecked Sendable {
    /// A `mongoc_client_pool_t`: thread-safe; a client popped from it is used by one thread at a time.
    private struct Pool: @unchecked Sendable { let pointer: OpaquePointer }

    private let pool: Pool
    private let uri: OpaquePointer
    private let threads: NIOThreadPool
    /// The database named in the URL's path, else `pulse`.
    public let databaseName: String
    /// Timeouts set unless the URL sets them: a store that does not answer is a 503 within seconds,
    /// not after the driver's 30 s default.
    static let defaultTimeouts: [(String, Int32)] = [
        (MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2_000), (MONGOC_URI_CONNECTTIMEOUTMS, 2_000), (MONGOC_URI_SOCKETTIMEOUTMS, 10_000),
    ]

    /// Parses `url` (`mongodb://host:port/database?options`) and prepares `connections` clients.
    /// Connects lazily: throws ``MongoError`` for a malformed URL only.
    public init(url: String, connections: Int = 16) throws {
        _ = mongocInitialised
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(url, &error) else { throw MongoError(error) }
        for (option, milliseconds) in Self.defaultTimeouts where !mongoc_uri_has_option(uri, option) {
            mongoc_uri_set_option_as_int32(uri, option, milliseconds)
        }
        let writeConcern = mongoc_write_concern_new()
        mongoc_write_concern_set_wmajority(writeConcern, 0)
        mongoc_write_concern_set_journal(writeConcern, true)
        mongoc_uri_set_write_concern(uri, writeConcern)
        mongoc_write_concern_destroy(writeConcern)
        let readConcern = mongoc_read_concern_new()
        mongoc_read_concern_set_level(readConcern, MONGOC_READ_CONCERN_LEVEL_MAJORITY)
        mongoc_uri_set_read_concern(uri, readConcern)
        mongoc_read_concern_destroy(readConcern)
        mongoc_uri_set_appname(uri, "pulse")
        guard let pool = mongoc_client_pool_new_with_error(uri, &error) else {
            mongoc_uri_destroy(uri)
            throw MongoError(error)
        }
        mongoc_client_pool_set_error_api(pool, 2)
        mongoc_client_pool_max_size(pool, UInt32(connections))
        self.uri = uri
        self.pool = Pool(pointer: pool)
        databaseName = mongoc_uri_get_database(uri).map { String(cString: $0) } ?? "pulse"
        threads = NIOThreadPool(numberOfThreads: connections)
        threads.start()
    }

    deinit {
        // No call is running (each holds this connection until it returns); not waiting keeps a
        // release on one of the pool's own threads from waiting for itself.
        threads.shutdownGracefully { _ in }
        mongoc_client_pool_destroy(pool.pointer)
        mongoc_uri_destroy(uri)
    }

    /// Runs `body` with a client of the pool on one of the connection's threads.
    /// Throws what `body` throws (``MongoError`` for driver failures).
    public func run<T: Sendable>(_ body: @escaping @Sendable (MongoContext) throws -> T) async throws -> T {
        // The closure holds the pool, not the connection: the last release of the connection
        // never happens on one of its own threads.
        try await threads.runIfActive { [pool, databaseName] in
            let client = mongoc_client_pool_pop(pool.pointer)!
            defer { mongoc_client_pool_push(pool.pointer, client) }
            return try body(MongoContext(client: client, databaseName: databaseName, session: nil))
        }
    }

    /// Runs `body` as one multi-document transaction (read concern `snapshot`, write concern
    /// `majority` with journal), run again from the start when it loses a write conflict or a
    /// unique index race to a concurrent transaction (then its reads see the winner), at most
    /// `attempts` times. Atomic: either every write of one run commits or none does.
    /// Throws ``MongoError``; a failed commit may or may not have committed.
    public func transaction<T: Sendable>(attempts: Int = 40, _ body: @escaping @Sendable (MongoContext) throws -> T) async throws -> T {
        try await run { context in
            var error = bson_error_t()
            guard let session = mongoc_client_start_session(context.client, nil, &error) else { throw MongoError(error) }
            defer { mongoc_client_session_destroy(session) }
            let options = Self.transactionOptions()
            defer { mongoc_transaction_opts_destroy(options) }
            let inSession = MongoContext(client: context.client, databaseName: context.databaseName, session: session)
            var lastConflict = MongoError(message: "transaction not attempted")
            for attempt in 0..<attempts {
                guard mongoc_client_session_start_transaction(session, options, &error) else { throw MongoError(error) }
                do {
                    let result = try body(inSession)
                    try inSession.commit()
                    return result
                } catch let conflict as MongoError where conflict.isRetryableConflict {
                    lastConflict = conflict
                    if mongoc_client_session_in_transaction(session) { mongoc_client_session_abort_transaction(session, &error) }
                    if attempt > 2 { usleep(UInt32(min(attempt, 20)) * 500) }
                } catch {
                    var ignored = bson_error_t()
                    if mongoc_client_session_in_transaction(session) { mongoc_client_session_abort_transaction(session, &ignored) }
                    throw error
                }
            }
            throw lastConflict
        }
    }

    private static func transactionOptions() -> OpaquePointer {
        let options = mongoc_transaction_opts_new()!
        let readConcern = mongoc_read_concern_new()
        mongoc_read_concern_set_level(readConcern, MONGOC_READ_CONCERN_LEVEL_SNAPSHOT)
        mongoc_transaction_opts_set_read_concern(options, readConcern)
        mongoc_read_concern_destroy(readConcern)
        let writeConcern = mongoc_write_concern_new()
        mongoc_write_concern_set_wmajority(writeConcern, 0)
        mongoc_write_concern_set_journal(writeConcern, true)
        mongoc_transaction_opts_set_write_concern(options, writeConcern)
        mongoc_write_concern_destroy(writeConcern)
        return options
    }
}
