extension Gateway {
    /// `GET /ui` and its files: the dashboard, served from the binary (`DashboardAssets`). The pages are open (they
    /// hold no data); everything they show comes from the API with the token the page asks for.
    func dashboard(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        guard request.method == "GET" else { throw .methodNotAllowed(request.method, allowed: ["GET"]) }
        let (body, type): (String, String) =
            switch request.path {
            case "/ui", "/ui/", "/ui/index.html": (DashboardAssets.html, "text/html; charset=utf-8")
            case "/ui/app.js": (DashboardAssets.script, "text/javascript; charset=utf-8")
            case "/ui/style.css": (DashboardAssets.style, "text/css; charset=utf-8")
            default: throw .routeNotFound(request.path)
            }
        return .respond(
            HTTPResponse(
                status: 200,
                headers: [
                    ("Content-Type", type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"),
                    (
                        "Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                            + "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
                    ),
                ],
                body: Array(body.utf8)))
    }
}
