import ArgumentParser
import Foundation
import Logging
import PulseEngine
import PulseReference

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts in the durable store.",
        subcommands: [CreateAdmin.self])
}

/// `pulse admin create`: creates an admin, or promotes an existing account and sets its password.
struct CreateAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an admin account (or promote an existing one and set its password).",
        discussion: "The password is read from PULSE_ADMIN_PASSWORD if --password is not given, so it need not appear in the process list.")

    @Option(help: "The admin's email.") var email: String
    @Option(help: "The admin's password (or PULSE_ADMIN_PASSWORD).") var password: String?
    @Option(help: "The admin's display name.") var name: String = "Administrator"
    @Option(help: "Directory of the SQLite database (PULSE_DATA_DIR).") var dataDir: String?
    @Option(help: "bcrypt cost, 4...31.") var bcryptCost: Int = 12
    @Option(help: "The MongoDB durable store at this mongodb:// URL instead of SQLite under --data-dir (PULSE_MONGO_URL).")
    var mongo: String?

    func run() async throws {
        guard let password = password ?? environment("PULSE_ADMIN_PASSWORD") else {
            throw ValidationError("give --password or set PULSE_ADMIN_PASSWORD")
        }
        guard (4...31).contains(bcryptCost) else { throw ValidationError("bcrypt cost must be 4...31") }
        let directory = dataDir ?? environment("PULSE_DATA_DIR") ?? "./pulse-data"
        let mongoURL = mongo ?? environment("PULSE_MONGO_URL")
        let durable: any DurableStore =
            if let open = try mongoStore(mongoURL, logger: Logger(label: "pulse")) { try await open() } else { try PulseServer.openSQLite(directory) }
        do {
            let admin = try await AccountService.ensureAdmin(
                email: email, password: password, name: name, durable: durable,
                hasher: PasswordHasher(cost: UInt8(bcryptCost)),
                ids: SecureIdentifierSource(), clock: SystemClock())
            print("admin \(admin.email) (id \(admin.id)) is ready in \(mongoURL == nil ? directory : "MongoDB")")
        } catch let error as PulseError {
            throw ValidationError(error.message)
        }
    }
}
