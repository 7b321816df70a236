import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

extension SimWorld {
    /// A virtual user: arrives, then for each operation thinks, maybe browses the seat map, holds seats (often in the hot
    /// first row), then checks out (maybe retrying with the same key), releases, extends or
    /// abandons the hold (it expires).
    func user(index: Int) async {
        let name = "u\(index)"
        let id = Self.userID(index)
        var random = SeededRandom(seed: configuration.seed &* 0x100_0000_01B3 &+ UInt64(index) &+ 1)
        await scheduler.sleep(ms: arrivalMs[index])
        operations: for operation in 0..<configuration.operationsPerUser {
            await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
            guard mayStartOperation() else { break }
            let event = eventID
            if configuration.browseProbability > 0, random.chance(configuration.browseProbability) {
                _ = await perform(
                    name, "browse", ["event": .string(event)], { try await $0.seatMap(event) },
                    okValue: { map in
                        ["seq": .int(map.seq), "free": .list(map.seats.filter { $0.status == .available }.map(\.id))]
                    })
            }
            let seats = configuration.pickSeats(&random)
            let answer = await perform(
                name, "hold", ["event": .string(event), "seats": .list(seats)],
                { engine in
                    try await engine.hold(eventID: event, seatIDs: seats, userID: id)
                },
                okValue: { hold in
                    [
                        "seats": .list(hold.seatIDs), "hold": .string(hold.id), "fence": .int(hold.fence),
                        "expires_at_ns": .int(hold.expiresAtMs * 1_000_000),
                    ]
                })
            guard case .ok(let hold) = answer else { continue }
            await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
            if random.chance(configuration.extendProbability) {
                _ = await perform(
                    name, "extend", ["event": .string(event), "hold": .string(hold.id)],
                    { engine in
                        try await engine.extend(eventID: event, holdID: hold.id, userID: id, seconds: nil)
                    }, okValue: { extended in ["hold": .string(hold.id), "expires_at_ns": .int(extended.expiresAtMs * 1_000_000)] })
            }
            if random.chance(configuration.checkoutProbability) {
                let key = "k-\(index)-\(operation)"
                if configuration.clientCrashProbability > 0, random.chance(configuration.clientCrashProbability), faults.active {
                    // The client sends its checkout and dies: the request runs, nobody hears the answer.
                    recorder.record(name, .invoke, "checkout", ["event": .string(event), "seats": .list(hold.seatIDs), "key": .string(key)])
                    recorder.record("nemesis", .fault, "client_crash", ["process": .string(name)])
                    _ = try? await server.serve {
                        try await $0.checkout(eventID: event, request: CheckoutRequest(seatIds: hold.seatIDs), idempotencyKey: key, userID: id)
                    }
                    break operations
                }
                var answer = await checkout(name, id, seats: hold.seatIDs, key: key)
                // A careful client retries an unknown outcome with the same key (a few times); some retry successes too.
                var retries = 0
                while case .unknown = answer, retries < 3 {
                    retries += 1
                    answer = await checkout(name, id, seats: hold.seatIDs, key: key)
                }
                if case .ok = answer, random.chance(configuration.retryProbability) {
                    _ = await checkout(name, id, seats: hold.seatIDs, key: key)
                }
                if case .ok(let result) = answer, configuration.cancelProbability > 0, random.chance(configuration.cancelProbability) {
                    await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
                    await cancel(name, id, booking: result.booking.id)
                    if random.chance(configuration.cancelAgainProbability) {
                        // Another tab, a double click: the same booking cancelled again, often after its seats were sold again.
                        await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
                        await cancel(name, id, booking: result.booking.id)
                    }
                }
            } else if random.chance(configuration.releaseProbability / max(0.000_1, 1 - configuration.checkoutProbability)) {
                if random.chance(configuration.releaseBySeatsShare) {
                    _ = await perform(
                        name, "release", ["event": .string(event), "seats": .list(hold.seatIDs)],
                        { engine in
                            try await engine.release(eventID: event, target: .seats(hold.seatIDs), userID: id, reason: .released)
                        }, okValue: { released in ["released": .list(released)] })
                } else {
                    _ = await perform(
                        name, "release", ["event": .string(event), "hold": .string(hold.id)],
                        { engine in
                            try await engine.release(eventID: event, holdID: hold.id, userID: id)
                        }, okValue: { _ in ["released": .list(hold.seatIDs)] })
                }
            }
        }
        userFinished()
    }

    /// Cancels a booking, retrying an unknown outcome a few times (cancelling is idempotent).
    private func cancel(_ name: String, _ id: String, booking: String) async {
        let event = eventID
        for _ in 0..<4 {
            let answer = await perform(
                name, "cancel", ["event": .string(event), "booking": .string(booking)],
                { engine in
                    try await engine.cancelBooking(booking, reason: nil, userID: id, isAdmin: false)
                }, okValue: { cancelled in ["booking": .string(cancelled.id), "seats": .list(cancelled.seatIDs)] })
            guard case .unknown = answer else { return }
        }
    }

    private func checkout(_ name: String, _ id: String, seats: [String], key: String) async -> SimAnswer<CheckoutResult> {
        let event = eventID
        return await perform(
            name, "checkout", ["event": .string(event), "seats": .list(seats), "key": .string(key)],
            { engine in
                try await engine.checkout(eventID: event, request: CheckoutRequest(seatIds: seats), idempotencyKey: key, userID: id)
            }, okValue: { result in ["seats": .list(result.booking.seatIDs), "booking": .string(result.booking.id)] })
    }
}
