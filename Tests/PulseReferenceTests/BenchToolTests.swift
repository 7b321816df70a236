import Testing

@testable import PulseBench

@Suite("Benchmark tools")
struct BenchToolTests {
    @Test("latency percentiles use the nearest rank of the sorted samples")
    func percentiles() {
        let summary = LatencySummary(nanoseconds: (1...100).reversed().map { UInt64($0) * 1_000_000 })
        #expect(summary.count == 100)
        #expect(summary.p50Ms == 50)
        #expect(summary.p99Ms == 99)
        #expect(summary.maxMs == 100)
        #expect(LatencySummary(nanoseconds: []).p99Ms == 0)
        #expect(LatencySummary(nanoseconds: [7_000_000]).p50Ms == 7)
    }

    @Test("the fast seq reader finds the seq of a change wherever the key stands, and nothing where there is none")
    func seqScan() {
        #expect(LiveScan.seq(in: #"{"eventId":"e","seatId":"A1","seq":4294967301,"type":"seat_locked"}"#) == 4_294_967_301)
        #expect(LiveScan.seq(in: #"{"seq":12,"type":"seats_booked"}"#) == 12)
        #expect(LiveScan.seq(in: #"{"code":"malformed_json","message":"x","type":"error"}"#) == nil)
        #expect(LiveScan.seq(in: #"{"seq":"x"}"#) == nil)
        #expect(LiveScan.snapshotSeq(in: #"{"eventId":"e","seats":[],"seq":9,"type":"snapshot"}"#) == 9)
        #expect(LiveScan.snapshotSeq(in: #"{"eventId":"e","seq":9,"type":"joined"}"#) == nil)
    }
}
