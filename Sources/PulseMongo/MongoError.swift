import CMongoc

/// A failure reported by libmongoc: its error domain and code, its message and the server's error
/// labels (from the reply).
public struct MongoError: Error, Sendable, CustomStringConvertible {
    public var domain: UInt32
    public var code: UInt32
    public var message: String
    public var labels: [String]

    init(_ error: bson_error_t, reply: BSONDocument = [:]) {
        domain = error.domain
        code = error.code
        message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        labels = (reply["errorLabels"]?.array ?? []).compactMap(\.string)
    }

    init(message: String) {
        domain = 0
        code = 0
        self.message = message
        labels = []
    }

    public var description: String { "MongoDB error \(domain).\(code): \(message)" }

    /// A unique index refused the write (E11000).
    public var isDuplicateKey: Bool { code == 11000 }

    /// The server reached, and the transaction lost a race it may win when run again (a write
    /// conflict): not a network failure, which would only repeat until the timeout.
    public var isRetryableConflict: Bool {
        let reached = domain != MONGOC_ERROR_STREAM.rawValue && domain != MONGOC_ERROR_SERVER_SELECTION.rawValue
        return reached && (labels.contains("TransientTransactionError") || code == 112 || isDuplicateKey)
    }
}
