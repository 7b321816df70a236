import PulseProtocol
import Synchronization

/// The engine's only source of randomness: hex identifiers for entities, hold tokens and bookings.
///
/// Production uses ``SecureIdentifierSource`` (the system CSPRNG); tests and the simulator use
/// ``SeededIdentifierSource`` so that the same seed gives the same ids.
public protocol IdentifierSource: Sendable {
    /// `bytes` random bytes as lowercase hex (`2 * bytes` characters).
    func hex(bytes: Int) -> String
}

extension IdentifierSource {
    /// A 24-hex-character entity id (users, events, bookings), shaped like the seed's MongoDB ObjectIds (PB-REST-3).
    public func entityID() -> String { hex(bytes: 12) }
    /// A 32-hex-character (128-bit) unguessable token: hold ids (PB-HOLD-2).
    public func token() -> String { hex(bytes: 16) }
}

enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` is exactly `count` lowercase hex characters.
    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Identifiers from the operating system's cryptographically secure generator.
public struct SecureIdentifierSource: IdentifierSource {
    public init() {}
    public func hex(bytes: Int) -> String {
        // Eight bytes a call: one getrandom(2) per 64 bits rather than per byte.
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 7)
        while out.count < bytes { withUnsafeBytes(of: generator.next() as UInt64) { out.append(contentsOf: $0) } }
        return Hex.encode(out.prefix(bytes))
    }
}

/// Identifiers from a seeded SplitMix64 generator (``SeededRandom``): the same seed gives the same sequence.
public final class SeededIdentifierSource: IdentifierSource {
    private let random: Mutex<SeededRandom>

    public init(seed: UInt64) { random = Mutex(SeededRandom(seed: seed)) }

    public func hex(bytes: Int) -> String {
        random.withLock { random in
            var out: [UInt8] = []
            out.reserveCapacity(bytes)
            while out.count < bytes {
                let z = random.next()
                for shift in stride(from: 0, to: 64, by: 8) where out.count < bytes {
                    out.append(UInt8(truncatingIfNeeded: z >> UInt64(shift)))
                }
            }
            return Hex.encode(out)
        }
    }
}
