/// Formats engine instants (ms since the epoch) as ISO 8601 UTC strings with milliseconds,
/// without Foundation's formatters (which are neither cheap nor deterministic across platforms).
public enum ISOTime {
    /// `2026-01-01T00:00:00.000Z` for `ms`.
    public static func format(ms: Int64) -> String {
        let totalSeconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = Int(ms - totalSeconds * 1000)
        var days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secondsOfDay = Int(totalSeconds - days * 86_400)
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

extension ISOTime {
    /// Parses `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM`,
    /// into ms since the epoch; nil for anything else (including impossible dates).
    public static func parse(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= chars.count else { return nil }
            var value = 0
            for c in chars[index..<index + width] {
                guard (48...57).contains(c) else { return nil }
                value = value * 10 + Int(c - 48)
            }
            index += width
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard index < chars.count, chars[index] == c.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
        var millis: Int64 = 0
        if index == chars.count { return seconds * 1000 }
        guard expect("T") || expect(" "), let hour = number(2), expect(":"), let minute = number(2),
            hour < 24, minute < 60
        else { return nil }
        seconds += Int64(hour * 3600 + minute * 60)
        if expect(":") {
            guard let second = number(2), second < 60 else { return nil }
            seconds += Int64(second)
            if expect(".") {
                let start = index
                while index < chars.count, (48...57).contains(chars[index]) { index += 1 }
                guard index > start else { return nil }
                let digits = chars[start..<min(index, start + 3)].map { Int64($0 - 48) }
                millis = digits.enumerated().reduce(0) { $0 + $1.element * [100, 10, 1][$1.offset] }
            }
        }
        if expect("Z") {
        } else if index < chars.count, chars[index] == 43 || chars[index] == 45 {
            let sign: Int64 = chars[index] == 43 ? 1 : -1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2), offsetHours < 24, offsetMinutes < 60 else { return nil }
            seconds -= sign * Int64(offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        return index == chars.count ? seconds * 1000 + millis : nil
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
