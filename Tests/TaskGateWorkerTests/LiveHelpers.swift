import TaskGateTesting
import Testing

extension TestHTTPClient {
    /// Submits a task and returns its id.
    func submit(_ function: String, _ args: String = "null", extra: String = "") async throws -> String {
        let response = try await post("/tasks", json: "{\"function\":\"\(function)\",\"args\":\(args)\(extra)}")
        guard response.status == 202 || response.status == 200, let id = response.json["id"] as? String else {
            throw TestFailure("submit answered \(response.status): \(response.text)")
        }
        return id
    }

    /// Long-polls the task (the server answers on each change) until `condition` holds or the task is done; at most
    /// `changes` rounds.
    func task(
        _ id: String, until condition: ([String: Any]) -> Bool, changes: Int = 50
    ) async throws -> [String: Any] {
        var task = try await request("GET", "/tasks/\(id)").json
        for _ in 0..<changes where !condition(task) && task["done"] as? Bool != true {
            let version = task["version"] as? Int ?? 0
            let answer = try await request("GET", "/tasks/\(id)?wait=10", headers: ["If-None-Match": "\"\(version)\""])
            if answer.status == 200 { task = answer.json }
        }
        return task
    }

    /// Long-polls until the task is done.
    func finished(_ id: String) async throws -> [String: Any] {
        try await task(id) { $0["done"] as? Bool == true }
    }
}
