import AsyncHTTPClient
import Foundation
import PulseProtocol
import PulseWire

/// The outcome of a conformance run: the target, what it offered, and every case's result.
public struct ConformanceReport: Sendable, Codable {
    public var target: String
    public var testControl: Bool
    public var admin: Bool
    public var results: [CaseResult]

    public init(target: String, testControl: Bool, admin: Bool, results: [CaseResult]) {
        self.target = target
        self.testControl = testControl
        self.admin = admin
        self.results = results
    }

    /// True when no MUST case failed (NON-STRICT and UNIMPLEMENTED do not fail a run).
    public var passed: Bool { !results.contains { $0.grade == .failed } }

    /// How many cases got each grade.
    public var counts: [Grade: Int] { Dictionary(grouping: results, by: \.grade).mapValues(\.count) }
}

/// Runs catalogue cases against a live target.
public struct ConformanceRunner: Sendable {
    public var baseURL: String
    public var adminEmail: String?
    public var adminPassword: String?
    /// Cases run at once.
    public var concurrency = 4
    /// Longest a case may take.
    public var caseTimeoutSeconds = 60.0
    /// Distinguishes this run's accounts and keys from earlier runs on the same target.
    public var runID: String
    /// The protocol the target speaks.
    public var profile: Profile
    /// The target's hold (lock) TTL in seconds when the operator knows it and the target cannot
    /// say (a seed-style server): races that need an expiry run only when it is short.
    public var holdTTLSeconds: Double?
    /// A shell command that restarts the target (kills it hard, starts it on the same stores).
    public var restartCommand: String?

    public init(
        baseURL: String, runID: String, profile: Profile = .pulse, adminEmail: String? = nil, adminPassword: String? = nil,
        holdTTLSeconds: Double? = nil
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.runID = runID
        self.profile = profile
        self.holdTTLSeconds = holdTTLSeconds
        self.adminEmail = adminEmail
        self.adminPassword = adminPassword
    }

    /// Learns what the target offers: the test-control profile (and with it an admin token), or
    /// an admin from the given credentials; without test control, a small pool of users for when
    /// the target rate-limits sign-ups (a refused sign-up leaves the pool smaller, and the cases
    /// that need more users are UNIMPLEMENTED). Throws when the target does not answer at all.
    public func prepare(http: HTTPClient = .shared) async throws -> TargetSession {
        let api = PulseAPIClient(baseURL: baseURL, http: http)
        var session = TargetSession(baseURL: baseURL, profile: profile, testControl: false, adminToken: nil, userPool: [], runID: runID)
        session.lockTTLSeconds = holdTTLSeconds
        session.restartCommand = restartCommand
        let profile = try await api.call(.GET, "/api/v1/test-control", timeout: .seconds(10))
        let data = profile.json["data"] as? [String: Any] ?? [:]
        if profile.status == 200, data["profile"] as? String == "pulse-test-control/1" {
            session.testControl = true
            session.holdTTLSeconds = (data["holdTTLSeconds"] as? NSNumber)?.intValue
            session.heldSeatsMax = (data["heldSeatsMax"] as? NSNumber)?.intValue
            let admin = try await api.call(.POST, "/api/v1/test-control/admin-token", json: [:], timeout: .seconds(10))
            session.adminToken = admin.json["token"] as? String
        }
        if !session.testControl, let holdTTLSeconds { session.holdTTLSeconds = Int(holdTTLSeconds.rounded(.up)) }
        if let adminEmail, let adminPassword {
            if session.adminToken == nil {
                // A log-in the target answers wrongly is graded by the log-in cases; the cases that
                // need an admin then say why they could not run.
                do {
                    session.adminToken = try await api.login(email: adminEmail, password: adminPassword)
                } catch {
                    session.adminProblem = "the admin's log-in failed: \(error)"
                }
                session.operatorAdminToken = session.adminToken
            } else {
                // Beside test control's admin, only for auth.admin-role: a log-in that fails here
                // is the business of the log-in cases, not a reason to stop the run.
                session.operatorAdminToken = try? await api.login(email: adminEmail, password: adminPassword)
            }
        }
        if !session.testControl {
            for index in 0..<4 {
                let email = "pool-\(runID)-\(index)@conform.invalid"
                let password = "password-\(runID)"
                if let (token, id) = try? await api.signup(name: "Conformance Pool", email: email, password: password) {
                    session.userPool.append(TestUser(token: token, id: id, email: email, password: password))
                }
            }
        }
        return session
    }

    /// Runs `cases` (in catalogue order in the report), `concurrency` at once, then the cases that
    /// run last one by one, calling `progress` as each ends.
    public func run(_ cases: [ConformanceCase], http: HTTPClient = .shared, progress: @escaping @Sendable (CaseResult) -> Void = { _ in })
        async throws -> ConformanceReport
    {
        let session = try await prepare(http: http)
        var results = [CaseResult?](repeating: nil, count: cases.count)
        let ordinary = cases.indices.filter { !cases[$0].runsLast }
        for (batch, width) in [(ordinary, max(1, concurrency)), (cases.indices.filter { cases[$0].runsLast }, 1)] {
            try await withThrowingTaskGroup(of: (Int, CaseResult).self) { group in
                var next = 0
                func startNext() {
                    guard next < batch.count else { return }
                    let index = batch[next]
                    next += 1
                    group.addTask { (index, await self.run(cases[index], session: session, poolOffset: index, http: http)) }
                }
                for _ in 0..<width { startNext() }
                while let (index, result) = try await group.next() {
                    results[index] = result
                    progress(result)
                    startNext()
                }
            }
        }
        return ConformanceReport(
            target: baseURL, testControl: session.testControl, admin: session.adminToken != nil, results: results.compactMap { $0 })
    }

    private func run(_ testCase: ConformanceCase, session: TargetSession, poolOffset: Int, http: HTTPClient) async -> CaseResult {
        var result = CaseResult(
            id: testCase.id, clause: testCase.clause, requirement: testCase.requirement, title: testCase.title,
            grade: .ok, durationSeconds: 0, evidence: [])
        if testCase.needs.contains(.admin) && session.adminToken == nil || testCase.needs.contains(.testControl) && !session.testControl
            || testCase.needs.contains(.restart) && session.restartCommand == nil
        {
            result.grade = .unimplemented
            result.evidence =
                ["needs \(testCase.needs.map(\.rawValue).sorted().joined(separator: " and ")), which the target does not offer"]
                + (testCase.needs.contains(.admin) ? session.adminProblem.map { [$0] } ?? [] : [])
            return result
        }
        let context = CaseContext(session: session, testCase: testCase, poolOffset: poolOffset, http: http)
        let started = ContinuousClock.now
        let timeout = max(caseTimeoutSeconds, testCase.timeoutSeconds ?? 0)
        let outcome: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    try await testCase.run(context)
                    return nil
                } catch { return error }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                return CaseFailure("the case did not finish within \(Int(timeout)) s")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        context.closeConnections()
        result.durationSeconds = (ContinuousClock.now - started).seconds
        switch outcome {
        case nil:
            result.grade = testCase.requirement == .info ? .informational : .ok
        case let missing as CaseUnimplemented:
            result.grade = .unimplemented
            result.evidence = [missing.description]
            return result
        case let undecided as CaseInconclusive:
            result.grade = .inconclusive
            result.evidence = [undecided.description]
        case let error? where testCase.requirement != .info && !testCase.checksRateLimits && context.liveRateLimit != nil:
            // A live message the target refused for the suite's pace: the evidence decides nothing.
            result.grade = .inconclusive
            result.evidence = ["the target rate-limited the suite's live messages (PB-LIMIT-4): \(context.liveRateLimit ?? "")", "then: \(error)"]
        case let error?:
            result.grade =
                switch testCase.requirement {
                case .must: .failed
                case .should: .nonStrict
                case .info: .informational
                }
            result.evidence = ["\(error)"]
        }
        result.evidence += context.evidence
        return result
    }
}
