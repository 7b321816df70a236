import Foundation
import PulseWire

/// Whether a process of a deployment is ready: its port takes a connection within half a second
/// and, when it has a ready path, a `GET` of it answers 200 within a second.
enum Readiness {
    static func isReady(address: String, port: Int, path: String?) -> Bool {
        withTCPConnection(address: address, port: port, connectTimeout: .milliseconds(500)) { descriptor in
            guard let path else { return true }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = Array("GET \(path) HTTP/1.0\r\nHost: \(address)\r\n\r\n".utf8)
            guard send(descriptor, request, request.count, 0) == request.count else { return false }
            var answer = [UInt8](repeating: 0, count: 64)
            let count = recv(descriptor, &answer, answer.count, 0)
            guard count > 12 else { return false }
            let statusLine = String(decoding: answer[0..<count], as: UTF8.self)
            return statusLine.hasPrefix("HTTP/1.1 200") || statusLine.hasPrefix("HTTP/1.0 200")
        } ?? false
    }
}
