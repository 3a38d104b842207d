import Foundation
import TaskGateTesting
import Testing

@testable import TaskGateHTTP

/// `/ui`: the dashboard's files, embedded in the binary, open without a token, with a strict content policy.
@Suite struct DashboardTests {
    /// The embedded files are ui/'s (scripts/embed-ui.sh writes them; this fails while someone forgot to run it).
    @Test func theEmbeddedFilesAreTheOnesInUI() throws {
        let root = TestProcess.repository.appendingPathComponent("ui")
        for (file, embedded) in [
            ("index.html", DashboardAssets.html), ("app.js", DashboardAssets.script),
            ("style.css", DashboardAssets.style),
        ] {
            let source = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            let normalized = source.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.replacing(/\s+$/, with: "") }.joined(separator: "\n")
                .trimmingCharacters(in: .newlines)
            #expect(embedded == normalized, "ui/\(file) differs from DashboardAssets: run scripts/embed-ui.sh")
        }
    }

    @Test func thePagesAreServedOpenWithTheirTypesAndPolicyAndNothingElseIs() async throws {
        try await withLiveServer(gateway: { _ in }, server: { _ in }) { server, client in
            server.gateway.replaceTokens(AccessTokens(client: ["c-token"], worker: ["w-token"]))
            for (path, type) in [
                ("/ui", "text/html"), ("/ui/", "text/html"), ("/ui/app.js", "text/javascript"),
                ("/ui/style.css", "text/css"),
            ] {
                let response = try await client.request("GET", path)
                #expect(response.status == 200, "\(path)")
                #expect(response.headers["content-type"]?.hasPrefix(type) == true, "\(path)")
                #expect(response.headers["content-security-policy"]?.contains("script-src 'self'") == true)
                #expect(response.headers["x-content-type-options"] == "nosniff")
            }
            let page = try await client.request("GET", "/ui")
            #expect(page.text.contains("<script src=\"/ui/app.js\"></script>"))
            #expect(try await client.request("GET", "/ui/secrets").status == 404)
            #expect(try await client.request("POST", "/ui").status == 405)
            // The data behind it still needs the token.
            #expect(try await client.request("GET", "/stats").status == 401)
        }
    }
}
