/// Prices travel as JSON numbers with at most two decimals and are kept as integer cents,
/// so that the server's arithmetic is exact (PB-CHECKOUT-4).
public enum Money {
    /// Largest price of one seat, in cents.
    public static let seatPriceCentsMax = 10_000_000

    /// Converts a JSON amount to cents, or nil when it is negative, not finite or has more
    /// than two decimals.
    public static func cents(from amount: Double) -> Int? {
        guard amount.isFinite, amount >= 0, amount <= Double(Int32.max) else { return nil }
        let scaled = (amount * 100).rounded()
        guard abs(scaled - amount * 100) < 1e-6 else { return nil }
        return Int(scaled)
    }

    /// Converts cents back to the JSON amount.
    public static func amount(fromCents cents: Int) -> Double { Double(cents) / 100 }
}
