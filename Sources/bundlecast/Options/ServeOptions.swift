import ArgumentParser
import Node

/// The local content server: installed releases over HTTP to this machine's browsers and apps.
struct ServeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Serve installed releases over HTTP on HOST:PORT (off by default; port 0 picks one, written to DATA/ready.json): \
        /apps/APP/ redirects to the current version, /apps/APP/VERSION/PATH serves a file the signed manifest lists, \
        /apps/APP/events streams install events to pages.
        """, valueName: "host:port"), transform: HostPort.parse)
    var serve: HostPort?

    @Option(help: ArgumentHelp("Require this token (the file's first line) from every client of --serve: `Authorization: Bearer`, or `?token=` once in a browser, which sets a cookie; needed when --serve is not loopback.", valueName: "file"))
    var serveToken: String?

    /// The content server's settings, nil without --serve; a non-loopback address needs a token.
    func settings() throws -> ContentServer.Settings? {
        guard let serve else {
            if serveToken != nil { throw Failure("--serve-token needs --serve HOST:PORT") }
            return nil
        }
        var settings = ContentServer.Settings()
        settings.host = serve.host
        settings.port = serve.port
        settings.token = try serveToken.map { try TokenFile.read($0, option: "serve") }
        guard serve.isLoopback || settings.token != nil else {
            throw Failure("--serve \(serve) is not loopback: give --serve-token FILE so that only holders of the token can read what this node serves")
        }
        return settings
    }
}
