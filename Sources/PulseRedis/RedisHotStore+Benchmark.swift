/// What `pulse bench holds` needs to call the hold script directly, as the server does, from
/// `redis-benchmark` (the reference rate of the Redis hold path without Pulse around it).
extension RedisHotStore {
    /// Loads the hold script, creates the hot state of `eventID` (generation `generation`), and
    /// returns the `EVALSHA` arguments of one hold of a random seat by a random user with a random
    /// hold id (`__rand_int__` is redis-benchmark's placeholder).
    public static func benchmarkHoldCommand(client: RedisClient, eventID: String, generation: Int64, nowMs: Int64) async throws -> [String] {
        _ = try await RedisHotScripts.initialise.run(on: client, keys: [prefix(eventID)], arguments: ["init", "-", String(generation << 32)])
        guard let sha = try await client.send("SCRIPT", "LOAD", RedisHotScripts.hold.source).string else {
            throw RedisError.protocolError("SCRIPT LOAD returned no digest")
        }
        return ["EVALSHA", sha, "1", prefix(eventID), "hold", String(nowMs), "h__rand_int__", "u__rand_int__", "600000", "1300", "", "S__rand_int__"]
    }
}
