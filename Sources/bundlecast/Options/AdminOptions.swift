import ArgumentParser
import Foundation
import Node
import Publisher

/// The admin API's address and token.
struct AdminOptions: ParsableArguments {
    static let defaultAdmin = HostPort(host: "127.0.0.1", port: 7947)

    @Option(help: .withDefault("Admin API address, HOST:PORT (loopback by default); a browser shows the fleet at http://HOST:PORT/ui.", valueName: "host:port", AdminOptions.defaultAdmin),
            transform: HostPort.parse)
    var admin = AdminOptions.defaultAdmin

    @Option(help: ArgumentHelp("Require this token (the file's first line) as `Authorization: Bearer` on the admin API; needed when --admin is not loopback. Clients send $BUNDLECAST_ADMIN_TOKEN; the fleet page takes it as /ui?token=TOKEN.", valueName: "file"))
    var adminToken: String?

    /// The address and the token read from its file; a non-loopback address needs one.
    func settings() throws -> NodeService.AdminSettings {
        var settings = NodeService.AdminSettings()
        settings.host = admin.host
        settings.port = admin.port
        if let adminToken {
            settings.token = try TokenFile.read(adminToken, option: "admin")
        }
        guard admin.isLoopback || settings.token != nil else {
            throw Failure("--admin \(admin) is not loopback: give --admin-token FILE so that only holders of the token can use the admin API")
        }
        return settings
    }
}
