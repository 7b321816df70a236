import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

/// What a simulated client heard back from a request.
enum SimAnswer<T: Sendable>: Sendable {
    case ok(T)
    /// A 4xx: the request surely did not take effect.
    case refused(PulseError)
    /// A 5xx, a timeout or a reset connection: it may have taken effect.
    case unknown(String)
    /// The server was down: the connection was refused, nothing happened.
    case unreachable
}

extension SimWorld {
    /// Sends one request over the simulated network: it may be delayed either way, lost either
    /// way (the client times out), delivered twice, or cut off by a server crash. Every such fault
    /// is recorded as a `fault` line.
    func request<T: Sendable>(_ process: String, _ body: @escaping @Sendable (BookingEngine) async throws -> T) async -> SimAnswer<T> {
        await delay(process, "request")
        if faults.strikes(configuration.requestDropProbability) {
            recorder.record("nemesis", .fault, "request_drop", ["process": .string(process)])
            await scheduler.sleep(ms: configuration.clientTimeoutMs)
            return .unknown("timeout")
        }
        var answer: SimAnswer<T>
        do {
            guard let value = try await server.serve(body) else { return .unreachable }
            answer = .ok(value)
        } catch is ServerCrashed {
            return .unknown("connection_reset")
        } catch let error as PulseError {
            answer = error.status >= 500 ? .unknown(error.code.rawValue) : .refused(error)
        } catch {
            answer = .unknown("\(error)")
        }
        if faults.strikes(configuration.requestDuplicateProbability) {
            // A proxy delivers the request again; the client hears only the first answer.
            recorder.record("nemesis", .fault, "request_duplicate", ["process": .string(process)])
            _ = try? await server.serve(body)
        }
        if faults.strikes(configuration.responseDropProbability) {
            recorder.record("nemesis", .fault, "response_drop", ["process": .string(process)])
            await scheduler.sleep(ms: configuration.clientTimeoutMs)
            return .unknown("timeout")
        }
        await delay(process, "response")
        return answer
    }

    private func delay(_ process: String, _ leg: String) async {
        guard faults.strikes(configuration.requestDelayProbability) else { return }
        let ms = 1 + Int64(scheduler.below(Int(configuration.requestDelayMsMax)))
        recorder.record("nemesis", .fault, "delay", ["process": .string(process), "leg": .string(leg), "ms": .int(ms)])
        await scheduler.sleep(ms: ms)
    }

    /// Records `invoke`, sends the request, records its completion: `ok` with `okValue`, `fail`
    /// when it surely did not happen, `info` when it may have.
    func perform<T: Sendable>(
        _ process: String, _ f: String, _ invoke: [String: HistoryValue],
        _ body: @escaping @Sendable (BookingEngine) async throws -> T, okValue: (T) -> [String: HistoryValue]
    ) async -> SimAnswer<T> {
        recorder.record(process, .invoke, f, invoke)
        let answer = await request(process, body)
        let event: [String: HistoryValue] = ["event": .string(eventID)]
        switch answer {
        case .ok(let value):
            recorder.record(process, .ok, f, event.merging(okValue(value)) { $1 })
        case .refused(let error):
            recorder.record(process, .fail, f, event, error: error.code.rawValue)
        case .unknown(let reason):
            recorder.record(process, .info, f, event, error: reason)
        case .unreachable:
            recorder.record(process, .fail, f, event, error: "connection_refused")
        }
        return answer
    }
}
