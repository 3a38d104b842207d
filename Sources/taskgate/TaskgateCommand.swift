import ArgumentParser

/// The `taskgate` command line.
@main
struct TaskgateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskgate",
        abstract: "A task scheduler with an HTTP/JSON front door.",
        subcommands: [
            Serve.self, WorkerCommand.self, Submit.self, Get.self, Wait.self, Cancel.self, Health.self,
            WebhookSecret.self, Status.self, Top.self,
        ],
        defaultSubcommand: Serve.self
    )
}
