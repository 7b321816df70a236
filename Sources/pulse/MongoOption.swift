import ArgumentParser
import Logging
import PulseEngine
import PulseMongo
import PulseReference

/// The durable store `--mongo URL` (or `PULSE_MONGO_URL`) names: nil keeps SQLite. Throws a
/// ValidationError for a URL that is not `mongodb://`.
func mongoStore(_ url: String?, logger: Logger) throws -> PulseServer.DurableStoreFactory? {
    guard let url else { return nil }
    guard url.hasPrefix("mongodb://") || url.hasPrefix("mongodb+srv://") else {
        throw ValidationError("the MongoDB URL must start with mongodb:// or mongodb+srv://")
    }
    logger.info("durable state in MongoDB")
    return { try await MongoDurableStore(url: url) }
}
