import BacktestProto

/// Rows a server stream delivers in chunks: with --json one line per row (the row
/// message's JSON) and with --csv one CSV line per row, both written as chunks
/// arrive (the CSV header only once the server has answered, so a failed call prints
/// nothing); otherwise kept for a table, which needs them all to align.
struct RowStream<Row: ProtoJSONMessage> {
    let out: OutputContext
    let csv: Bool
    let csvHeader: [String]
    let csvRow: (Row) -> [String]
    private(set) var rows: [Row] = []
    private var headerWritten = false

    init(out: OutputContext, csv: Bool, csvHeader: [String], csvRow: @escaping (Row) -> [String]) {
        self.out = out
        self.csv = csv
        self.csvHeader = csvHeader
        self.csvRow = csvRow
    }

    /// Whether the rows were printed as they came (nothing left for a table).
    var streamed: Bool { out.json || csv }

    mutating func add(_ chunk: [Row]) throws {
        if out.json {
            for row in chunk { try out.emit(row) }
        } else if csv {
            writeHeader()
            Console.out(chunk.map { CSV.row(csvRow($0)) + "\n" }.joined())
        } else {
            rows += chunk
        }
    }

    /// Ends the stream: an empty CSV still gets its header.
    mutating func finish() {
        if csv { writeHeader() }
    }

    private mutating func writeHeader() {
        guard !headerWritten else { return }
        Console.line(CSV.row(csvHeader))
        headerWritten = true
    }
}
