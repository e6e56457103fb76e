/// ANSI colours that disappear when disabled; applied after padding so alignment
/// never counts escape codes.
struct Style: Sendable {
    var enabled: Bool

    enum Color: String, Sendable {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case cyan = "36"
        case dim = "2"
        case bold = "1"
    }

    func paint(_ text: String, _ color: Color?) -> String {
        guard enabled, let color, !text.isEmpty else { return text }
        return "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m"
    }

    /// Green for gains, red for losses.
    func signed(_ text: String, _ value: Double) -> String {
        paint(text, value > 0 ? .green : value < 0 ? .red : nil)
    }

    static func color(for status: String) -> Color? {
        switch status {
        case "completed": .green
        case "failed": .red
        case "stopped": .yellow
        case "running": .cyan
        default: nil
        }
    }
}
