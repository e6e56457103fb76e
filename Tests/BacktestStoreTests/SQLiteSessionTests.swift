import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Sessions in the SQLite store: save/replace/get, client request ids, unfinished
/// sessions, listing with filters and paging.
@Suite struct SQLiteSessionTests {
    @Test func saveGetAndReplace() async throws {
        try await withTemporarySQLiteStore { store, path in
            let record = sampleSession(
                id: "s1", createdAt: 1_700_000_000_000_000, labels: ["desk": "fx", "owner": "ann"])
            try await store.saveSession(record)
            let loaded = try #require(try await store.session(id: "s1"))
            #expect(loaded == record)
            #expect(loaded.winRatePct.isNaN)
            #expect(loaded.statistics?.winRatePct.isNaN == true)
            #expect(loaded.statistics?.sharpeRatio == .infinity)
            #expect(loaded.statistics?.sortinoRatio == -.infinity)
            #expect(try await store.session(id: "nope") == nil)

            var updated = record
            updated.state = .failed
            updated.errorMessage = "interrupted: server stopped before completion"
            updated.statistics = nil
            updated.simTime = nil
            try await store.saveSession(updated)
            #expect(try await store.session(id: "s1") == updated)

            // A second store on the same file (a restart) sees the same rows.
            let reopened = try SQLiteStore(path: path)
            #expect(try await reopened.session(id: "s1") == updated)
            await reopened.close()
        }
    }

    @Test func clientRequestIdAndUnfinished() async throws {
        try await withTemporarySQLiteStore { store, _ in
            try await store.saveSession(
                sampleSession(id: "a", createdAt: 10, state: .running, clientRequestId: "req-1"))
            try await store.saveSession(sampleSession(id: "b", createdAt: 20, state: .started))
            try await store.saveSession(
                sampleSession(id: "c", createdAt: 30, state: .completed, clientRequestId: "req-2"))
            try await store.saveSession(sampleSession(id: "d", createdAt: 40, state: .stopped))
            #expect(try await store.session(clientRequestId: "req-1")?.id == "a")
            #expect(try await store.session(clientRequestId: "req-2")?.id == "c")
            #expect(try await store.session(clientRequestId: "req-3") == nil)
            // Sessions without a client request id are never found by the empty id.
            #expect(try await store.session(clientRequestId: "") == nil)
            let unfinished = try await store.sessions(in: [.started, .running])
            #expect(unfinished.map(\.id) == ["a", "b"])
            #expect(try await store.sessions(in: [.stopped]).map(\.id) == ["d"])
            #expect(try await store.sessions(in: []).isEmpty)
        }
    }

    @Test func listingPagesThroughEverythingNewestFirst() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var all: [SessionRecord] = []
            let states: [SessionState] = [.started, .running, .completed, .failed, .stopped]
            for i in 0..<53 {
                // Several sessions share a creation time: the id breaks the tie.
                let record = sampleSession(
                    id: String(format: "id-%03d", (i * 37) % 53), createdAt: Int64(1000 + i / 3),
                    state: states[i % 5], symbol: i % 2 == 0 ? "GOOG" : "AAPL",
                    labels: ["team": i % 3 == 0 ? "alpha" : "beta", "run": "\(i % 4)"])
                all.append(record)
                try await store.saveSession(record)
            }
            let expected = all.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }

            var query = SessionQuery()
            query.pageSize = 7
            var seen: [SessionRecord] = []
            var pages = 0
            repeat {
                let page = try await store.listSessions(query)
                #expect(page.sessions.count <= 7)
                seen += page.sessions
                query.pageToken = page.nextPageToken
                pages += 1
            } while !query.pageToken.isEmpty && pages < 100
            #expect(pages == 8)
            #expect(seen.map(\.id) == expected.map(\.id))
            #expect(seen == expected)

            func ids(_ configure: (inout SessionQuery) -> Void) async throws -> [String] {
                var q = SessionQuery()
                q.pageSize = 1000
                configure(&q)
                return try await store.listSessions(q).sessions.map(\.id)
            }
            #expect(
                try await ids { $0.states = [.running, .failed] }
                    == expected.filter { $0.state == .running || $0.state == .failed }.map(\.id))
            #expect(try await ids { $0.symbol = "AAPL" } == expected.filter { $0.symbol == "AAPL" }.map(\.id))
            #expect(
                try await ids {
                    $0.createdAfter = 1005
                    $0.createdBefore = 1010
                }
                    == expected.filter { $0.createdAt >= 1005 && $0.createdAt < 1010 }.map(\.id))
            #expect(
                try await ids { $0.labels = ["team": "alpha", "run": "2"] }
                    == expected.filter { $0.labels["team"] == "alpha" && $0.labels["run"] == "2" }.map(\.id))
            #expect(try await ids { $0.labels = ["team": "gamma"] }.isEmpty)
            #expect(
                try await ids {
                    $0.labels = ["team": "alpha"]
                    $0.states = [.completed]
                    $0.symbol = "GOOG"
                }
                    == expected.filter { $0.labels["team"] == "alpha" && $0.state == .completed && $0.symbol == "GOOG" }
                    .map(\.id))

            // Paging with filters keeps the filters.
            var filtered = SessionQuery()
            filtered.symbol = "GOOG"
            filtered.pageSize = 5
            var filteredSeen: [String] = []
            repeat {
                let page = try await store.listSessions(filtered)
                filteredSeen += page.sessions.map(\.id)
                filtered.pageToken = page.nextPageToken
            } while !filtered.pageToken.isEmpty
            #expect(filteredSeen == expected.filter { $0.symbol == "GOOG" }.map(\.id))
        }
    }

    @Test func badPageTokens() async throws {
        try await withTemporarySQLiteStore { store, _ in
            for i in 0..<5 { try await store.saveSession(sampleSession(id: "s\(i)", createdAt: Int64(i))) }
            var query = SessionQuery()
            query.pageSize = 2
            let first = try await store.listSessions(query)
            #expect(!first.nextPageToken.isEmpty)
            for token in ["garbage", "!!!", "YnQxOmFiYzo=", Data("bt1:x:y:z".utf8).base64EncodedString()] {
                query.pageToken = token
                await #expect(throws: StoreError.self) { try await store.listSessions(query) }
                do {
                    _ = try await store.listSessions(query)
                } catch let error as StoreError {
                    guard case .badPageToken = error else {
                        Issue.record("\(error)")
                        continue
                    }
                }
            }
            // A token only works with the filters it was made for.
            query.pageToken = first.nextPageToken
            query.symbol = "AAPL"
            await #expect(throws: StoreError.self) { try await store.listSessions(query) }
            query.symbol = ""
            query.pageSize = 10
            #expect(try await store.listSessions(query).sessions.map(\.id) == ["s2", "s1", "s0"])
        }
    }

    @Test func manyConcurrentWriters() async throws {
        try await withTemporarySQLiteStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for step in 0..<25 {
                            var record = sampleSession(id: "t\(task)", createdAt: Int64(task), state: .running)
                            record.progressPct = Double(step * 4)
                            try await store.saveSession(record)
                            _ = try await store.session(id: "t\(task)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let sessions = try await store.sessions(in: [.running])
            #expect(sessions.count == 8)
            #expect(sessions.allSatisfy { $0.progressPct == 96 })
        }
    }
}
