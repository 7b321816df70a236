/// The hash slot of a key in a Redis Cluster (16,384 slots): CRC16 (XMODEM) of the key, or of its
/// hash tag, the part between the first `{` and the next `}` when that part is not empty, so that
/// keys sharing a tag share a slot. Pure; never throws.
public enum ClusterKeySlot {
    public static let count = 16_384

    /// The slot of `key`, as `CLUSTER KEYSLOT` answers.
    public static func of(_ key: some Collection<UInt8>) -> Int {
        Int(crc16(hashed(key)) & UInt16(count - 1))
    }

    /// The slot of a text key.
    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    /// The bytes the slot is computed from: the hash tag when there is a non-empty one.
    static func hashed<Key: Collection<UInt8>>(_ key: Key) -> Key.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return key[...] }
        return key[afterOpen..<close]
    }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), Redis Cluster's key hash.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
