/// RFC 3339 UTC timestamps with microseconds (`2026-11-25T09:12:33.123456Z`), without Foundation.
public enum RFC3339 {
    /// Formats nanoseconds since the Unix epoch.
    public static func format(nanosecondsSinceEpoch: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        append(nanosecondsSinceEpoch: nanosecondsSinceEpoch, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the 27 characters of the timestamp (no quotes) to `bytes`; sub-microsecond digits are dropped
    /// (rounding towards the past).
    public static func append(nanosecondsSinceEpoch nanoseconds: Int64, to bytes: inout [UInt8]) {
        var micros = nanoseconds / 1_000
        if nanoseconds < 0 && nanoseconds % 1_000 != 0 { micros -= 1 }
        var (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        if fraction < 0 {
            seconds -= 1
            fraction += 1_000_000
        }
        var (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secondOfDay < 0 {
            days -= 1
            secondOfDay += 86_400
        }
        let (year, month, day) = civil(fromDays: days)
        // The 27 characters, written into a fixed buffer and appended at once.
        var text: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &text) { buffer in
            func put(_ value: Int64, width: Int, at offset: Int) {
                var rest = value.magnitude
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, width: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, width: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, width: 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, width: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay % 3600 / 60, width: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, width: 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(fraction, width: 6, at: 20)
            buffer[26] = UInt8(ascii: "Z")
        }
        withUnsafeBytes(of: &text) { bytes.append(contentsOf: $0.prefix(27)) }
    }

    /// Parses what `format` writes (and fractions of any length, or none); `nil` for anything else.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var nanos: Int64 = 0
        if bytes[19] == UInt8(ascii: ".") {
            let digits = bytes.count - 21
            guard digits >= 1, digits <= 9, let fraction = number(20..<bytes.count - 1) else { return nil }
            nanos = fraction * Int64(pow10(9 - digits))
        } else if bytes.count != 20 {
            return nil
        }
        let days = days(fromCivil: year, month, day)
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000_000) + nanos
    }

    private static func pow10(_ exponent: Int) -> Int {
        (0..<exponent).reduce(1) { value, _ in value * 10 }
    }

    /// Howard Hinnant's days → (year, month, day) in the proleptic Gregorian calendar.
    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's (year, month, day) → days since 1970-01-01.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
