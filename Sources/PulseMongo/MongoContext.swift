import CMongoc

/// The operations Pulse uses, on one popped client (and a session inside a transaction). Each
/// call blocks its thread; use it only inside ``MongoConnection/run(_:)`` or
/// ``MongoConnection/transaction(attempts:_:)``. Every method throws ``MongoError``.
public struct MongoContext {
    let client: OpaquePointer
    let databaseName: String
    let session: OpaquePointer?

    /// What an update did.
    public struct UpdateResult: Sendable {
        public var matched: Int
        public var modified: Int
        public var upserted: Bool
    }

    public func insertOne(_ collection: String, _ document: BSONDocument) throws {
        try write(collection) { handle, options, reply, error in
            document.withBSON { mongoc_collection_insert_one(handle, $0, options, reply, &error) }
        }
    }

    public func insertMany(_ collection: String, _ documents: [BSONDocument]) throws {
        guard !documents.isEmpty else { return }
        let encoded: [OpaquePointer?] = documents.map { $0.makeBSON() }
        defer { for document in encoded { bson_destroy(document) } }
        try write(collection) { handle, options, reply, error in
            var pointers = encoded
            return mongoc_collection_insert_many(handle, &pointers, pointers.count, options, reply, &error)
        }
    }

    /// Updates the first document matching `filter`; with `upsert`, inserts one when none does.
    @discardableResult
    public func updateOne(_ collection: String, filter: BSONDocument, update: BSONDocument, upsert: Bool = false) throws -> UpdateResult {
        let reply = try write(collection, options: upsert ? ["upsert": true] : [:]) { handle, options, reply, error in
            filter.withBSON { filter in update.withBSON { mongoc_collection_update_one(handle, filter, $0, options, reply, &error) } }
        }
        return UpdateResult(
            matched: Int(reply["matchedCount"]?.int64 ?? 0), modified: Int(reply["modifiedCount"]?.int64 ?? 0),
            upserted: (reply["upsertedCount"]?.int64 ?? 0) > 0)
    }

    /// Deletes every document matching `filter`; returns how many.
    @discardableResult
    public func deleteMany(_ collection: String, _ filter: BSONDocument) throws -> Int {
        let reply = try write(collection) { handle, options, reply, error in
            filter.withBSON { mongoc_collection_delete_many(handle, $0, options, reply, &error) }
        }
        return Int(reply["deletedCount"]?.int64 ?? 0)
    }

    /// The documents matching `filter`, in `sort` order, at most `limit` (0: all).
    public func find(
        _ collection: String, _ filter: BSONDocument, sort: BSONDocument? = nil, projection: BSONDocument? = nil,
        limit: Int = 0
    ) throws -> [BSONDocument] {
        var options: BSONDocument = [:]
        if let sort { options["sort"] = .document(sort) }
        if let projection { options["projection"] = .document(projection) }
        if limit > 0 { options["limit"] = .int(limit) }
        return try withCollection(collection) { handle in
            try withOptions(options) { options in
                try filter.withBSON { filter in
                    try Self.drain(mongoc_collection_find_with_opts(handle, filter, options, nil)!)
                }
            }
        }
    }

    public func findOne(_ collection: String, _ filter: BSONDocument) throws -> BSONDocument? {
        try find(collection, filter, limit: 1).first
    }

    /// The results of an aggregation `pipeline`.
    public func aggregate(_ collection: String, _ pipeline: [BSONDocument]) throws -> [BSONDocument] {
        let stages: BSONDocument = ["pipeline": .array(pipeline.map(BSONValue.document))]
        return try withCollection(collection) { handle in
            try withOptions([:]) { options in
                try stages.withBSON { stages in
                    try Self.drain(mongoc_collection_aggregate(handle, MONGOC_QUERY_NONE, stages, options, nil)!)
                }
            }
        }
    }

    /// Runs a database command (outside any transaction) and returns its reply.
    public func command(_ command: BSONDocument, database: String? = nil) throws -> BSONDocument {
        try Self.withReply { reply, error in
            command.withBSON { mongoc_client_command_simple(client, database ?? databaseName, $0, nil, reply, &error) }
        }
    }

    /// Commits the session's transaction.
    func commit() throws {
        guard let session else { return }
        _ = try Self.withReply { reply, error in mongoc_client_session_commit_transaction(session, reply, &error) }
    }

    // MARK: Plumbing

    private func withCollection<T>(_ name: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let handle = mongoc_client_get_collection(client, databaseName, name)!
        defer { mongoc_collection_destroy(handle) }
        return try body(handle)
    }

    /// `options` with the session's id appended when in a transaction.
    private func withOptions<T>(_ options: BSONDocument, _ body: (OpaquePointer) throws -> T) throws -> T {
        try options.withBSON { bson in
            if let session {
                var error = bson_error_t()
                guard mongoc_client_session_append(session, bson, &error) else { throw MongoError(error) }
            }
            return try body(bson)
        }
    }

    @discardableResult
    private func write(
        _ collection: String, options: BSONDocument = [:],
        _ call: (OpaquePointer, OpaquePointer, OpaquePointer, inout bson_error_t) -> Bool
    ) throws -> BSONDocument {
        try withCollection(collection) { handle in
            try withOptions(options) { options in
                try Self.withReply { reply, error in call(handle, options, reply, &error) }
            }
        }
    }

    /// Runs a call that fills a reply document; throws its error (with the reply's labels) when it fails.
    private static func withReply(_ call: (OpaquePointer, inout bson_error_t) -> Bool) throws -> BSONDocument {
        let reply = pulse_bson_storage_new()!
        defer { pulse_bson_storage_free(reply) }
        var error = bson_error_t()
        let succeeded = call(reply, &error)
        let document = BSONDocument(reading: reply)
        guard succeeded else { throw MongoError(error, reply: document) }
        return document
    }

    private static func drain(_ cursor: OpaquePointer) throws -> [BSONDocument] {
        defer { mongoc_cursor_destroy(cursor) }
        var documents: [BSONDocument] = []
        var next: OpaquePointer?
        while mongoc_cursor_next(cursor, &next), let document = next { documents.append(BSONDocument(reading: document)) }
        var error = bson_error_t()
        var reply: OpaquePointer?
        if mongoc_cursor_error_document(cursor, &error, &reply) {
            throw MongoError(error, reply: reply.map { BSONDocument(reading: $0) } ?? [:])
        }
        return documents
    }
}
