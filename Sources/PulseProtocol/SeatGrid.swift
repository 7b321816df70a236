/// The seat grid of a venue: rows lettered `A`..`Z`, columns numbered `1`..`cols`,
/// seat id = label = row letter followed by column number (`A1`, `C12`). PB-EVENT-3.
public struct SeatGrid: Sendable, Hashable {
    /// Largest number of rows a venue may have (`A`..`Z`).
    public static let rowsMax = 26
    /// Largest number of columns a venue may have.
    public static let colsMax = 50

    public let rows: Int
    public let cols: Int

    /// Creates a grid; the caller has validated `1...rowsMax` and `1...colsMax`.
    public init(rows: Int, cols: Int) {
        precondition((1...Self.rowsMax).contains(rows) && (1...Self.colsMax).contains(cols), "grid out of range")
        self.rows = rows
        self.cols = cols
    }

    /// Number of seats in the grid.
    public var capacity: Int { rows * cols }

    /// Every seat label in row-major order (`A1`, `A2`, ..., `B1`, ...).
    public var labels: [String] {
        var result: [String] = []
        result.reserveCapacity(capacity)
        for row in 0..<rows {
            for col in 1...cols { result.append(Self.label(row: row, col: col)) }
        }
        return result
    }

    /// The label of the seat at zero-based `row` and one-based `col`.
    public static func label(row: Int, col: Int) -> String {
        String(UnicodeScalar(UInt8(65 + row))) + String(col)
    }

    /// Parses a label into (row letter, column number) if it names a seat of this grid.
    public func locate(_ label: String) -> (row: String, number: Int)? {
        let scalars = Array(label.unicodeScalars)
        guard scalars.count >= 2, scalars.count <= 3 else { return nil }
        let letter = scalars[0].value
        guard letter >= 65, letter < 65 + UInt32(rows) else { return nil }
        let digits = String(String.UnicodeScalarView(scalars.dropFirst()))
        guard digits.first != "0", let number = Int(digits), (1...cols).contains(number) else { return nil }
        return (String(scalars[0]), number)
    }

    /// Whether `label` names a seat of this grid.
    public func contains(_ label: String) -> Bool { locate(label) != nil }
}
