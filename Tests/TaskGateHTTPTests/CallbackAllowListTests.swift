import Testing

@testable import TaskGateHTTP

/// The `--callback-allow` entries and what they let through.
@Suite struct CallbackAllowListTests {
    @Test func aPrefixEntryAllowsItsOriginAndPathsUnderIt() throws {
        let list = try CallbackAllowList(["https://Hooks.Example.com/taskgate/", "http://127.0.0.1:8081/cb"])
        for allowed in [
            "https://hooks.example.com/taskgate/", "https://hooks.example.com/taskgate/done?x=1",
            "HTTPS://HOOKS.example.com:443/taskgate/a/b", "http://127.0.0.1:8081/cb", "http://127.0.0.1:8081/cb/1",
        ] {
            #expect(list.allows(allowed), "\(allowed)")
        }
        for refused in [
            "http://hooks.example.com/taskgate/", "https://hooks.example.com/other",
            "https://hooks.example.com/taskgatex",
            "https://hooks.example.com:8443/taskgate/", "https://hooks.example.com.evil.net/taskgate/",
            "https://evil.net@hooks.example.com/taskgate/", "https://hooks.example.com/taskgate/../admin",
            "https://hooks.example.com/taskgate/%2e%2E/admin", "https://hooks.example.com/taskgate/a%2Fb",
            "https://hooks.example.com/taskgate/#x", "https://hooks.example.com\\@x/taskgate/",
            "http://127.0.0.1:8081/cbx", "http://127.0.0.1/cb", "ftp://127.0.0.1:8081/cb", "127.0.0.1:8081/cb", "",
        ] {
            #expect(!list.allows(refused), "\(refused)")
        }
    }

    @Test func aHostEntryAllowsAnyPathOnItWithItsPortIfGiven() throws {
        let list = try CallbackAllowList(["hooks.internal", "127.0.0.1:9000"])
        #expect(list.allows("http://hooks.internal/a") && list.allows("https://HOOKS.internal:8443/b?c"))
        #expect(list.allows("http://127.0.0.1:9000/x") && !list.allows("http://127.0.0.1:9001/x"))
        #expect(!list.allows("http://127.0.0.1/x") && !list.allows("http://hooks.internal.evil/a"))
    }

    @Test func badEntriesAreRefusedByName() {
        for bad in ["https://", "https://a/b?c", "ftp://x/", "host:0", "host:99999", "a b", "http://u@h/"] {
            do {
                _ = try CallbackAllowList([bad])
                Issue.record("accepted '\(bad)'")
            } catch {
                #expect(error.description.contains(bad))
            }
        }
        #expect(CallbackAllowList().isEmpty && !CallbackAllowList().allows("http://x/"))
    }
}
