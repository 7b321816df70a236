import PulseEngine
import PulseHistory
import PulseProtocol
import PulseSQLite
import PulseScenario

extension SimWorld {
    /// One scheduled fault of the nemesis.
    private enum Action {
        case hotStateLoss
        /// The replica the next failover promotes stops receiving writes here.
        case replicaFreezes
        case failover
        case clockJump(byMs: Int64)
        case crash
        case restart
    }

    /// The fault schedule, apart from the workload: at each planned time the nemesis loses the hot
    /// state, fails it over to a lagging replica, steps the server's clock, or crashes and later
    /// restarts the server. After a hot-state loss or a failover the server rebuilds the event
    /// from the durable store with a fresh generation (sold seats stay sold, seqs move on), as a
    /// Redis-backed server does when it finds its state gone or its primary replaced.
    func nemesis(hot: SimHotStore, durable: SQLiteDurableStore) async {
        var plan: [(atMs: Int64, order: Int, action: Action)] = []
        for atMs in configuration.hotStateLossAtMs { plan.append((atMs, plan.count, .hotStateLoss)) }
        for atMs in configuration.failoverAtMs {
            plan.append((max(0, atMs - configuration.failoverLagMs), plan.count, .replicaFreezes))
            plan.append((atMs, plan.count, .failover))
        }
        for jump in configuration.clockJumps { plan.append((jump.atMs, plan.count, .clockJump(byMs: jump.byMs))) }
        for atMs in configuration.serverCrashAtMs {
            plan.append((atMs, plan.count, .crash))
            plan.append((atMs + configuration.serverDownMs, plan.count, .restart))
        }
        plan.sort { ($0.atMs, $0.order) < ($1.atMs, $1.order) }
        var replica: InMemoryHotStore?
        for step in plan {
            await scheduler.sleep(ms: startMs + step.atMs - scheduler.clock.nowMs())
            switch step.action {
            case .hotStateLoss:
                guard let generation = try? await durable.nextHotGeneration() else { continue }
                recorder.record("nemesis", .fault, "hot_state_loss", ["generation": .int(generation)])
                await rebuildHotState(hot, durable: durable, generation: generation)
            case .replicaFreezes:
                replica = (hot.inner as? InMemoryHotStore)?.replicaCopy()
            case .failover:
                guard let promoted = replica, let generation = try? await durable.nextHotGeneration() else { continue }
                replica = nil
                hot.replace(with: promoted)
                promoted.changeFeed.markChanged(eventID)
                recorder.record("nemesis", .fault, "failover", ["lag_ms": .int(configuration.failoverLagMs), "generation": .int(generation)])
                if configuration.recoverAfterFailover { await rebuildHotState(hot, durable: durable, generation: generation) }
            case .clockJump(let byMs):
                let offset = serverClock.jump(byMs: byMs)
                recorder.record("nemesis", .fault, "clock_jump", ["by_ms": .int(byMs), "offset_ms": .int(offset)])
            case .crash:
                server.crash()
                recorder.record("nemesis", .fault, "server_crash", ["down_ms": .int(configuration.serverDownMs)])
            case .restart:
                // A new process: the embedded hot state died with the old one.
                guard let generation = try? await durable.nextHotGeneration() else { continue }
                hot.replace(with: InMemoryHotStore(generation: generation, logCapacity: configuration.changeLogCapacity))
                let engine = makeEngine(hot)
                try? await engine.warmUp()
                server.restart(engine)
                recorder.record("nemesis", .fault, "server_restart", ["generation": .int(generation)])
            }
        }
    }

    private func rebuildHotState(_ hot: SimHotStore, durable: SQLiteDurableStore, generation: Int64) async {
        let fresh = InMemoryHotStore(generation: generation, logCapacity: configuration.changeLogCapacity)
        if let booked = try? await durable.bookedSeats(eventID: eventID) { try? await fresh.loadBooked(eventID: eventID, bookings: booked) }
        hot.replace(with: fresh)
        // The server notices the new state and rings its hub, which resyncs every subscriber.
        fresh.changeFeed.markChanged(eventID)
    }

    /// Whether the run has scheduled faults for the nemesis.
    static func hasSchedule(_ configuration: SimConfiguration) -> Bool {
        !(configuration.hotStateLossAtMs.isEmpty && configuration.failoverAtMs.isEmpty && configuration.clockJumps.isEmpty
            && configuration.serverCrashAtMs.isEmpty)
    }
}
