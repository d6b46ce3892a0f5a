// Step 04 — Training.py: fine-tune the encoder with MultipleNegativesRankingLoss on every data file.
// Reads  the object store's `data/…json.gz` files, `data_records.json` (records per file: the sampling weights),
//        the sentence-transformers model directory written by 03-mosaic-model.
// Writes to --output: `train_logs.txt` (the original's Succeeded/Failed lines), `loss.csv`, `loss.svg`,
//        `model/` (a sentence-transformers directory, rewritten after every succeeded epoch) and `checkpoints/`
//        (or --checkpoint-store): weights, AdamW moments, counters, sampler and reader positions, RNG state.
// Unattended: a stalled epoch (--stall-timeout), a non-finite loss or gradient, or one Ctrl-C fails the epoch;
// its updates are dropped and training goes on. Two Ctrl-Cs within 3 s checkpoint and exit; `--resume`
// continues exactly where the checkpoint left off.
import ArgumentParser
import Foundation
import LodestoneCore
import Logging

struct Training: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "04-training",
        abstract: "Train Lodestone: MNRL over every data file, Training.py's schedule, checkpoints and logs.",
        discussion: """
        Hyperparameters: the original's defaults, then --config FILE.json (snake_case keys: batch_size, \
        max_seq_length, cycles, chunks, epochs, steps_per_epoch, lr, warmup_steps, weight_decay, max_grad_norm, \
        scale, symmetric_loss, adam_eps, seed, max_steps, stall_timeout, checkpoint_every), then the flags below.
        """)

    @Option(help: "Object store with data/…json.gz: a local directory or s3://bucket/prefix.")
    var store = "data/store"
    @Option(name: .customLong("endpoint-url"), help: "S3 endpoint URL for s3:// stores (default: $AWS_ENDPOINT_URL).")
    var endpointURL: String?
    @Option(help: "data_records.json (from 02); when the file does not exist, the store's copy is read.")
    var records = "data/data_records.json"
    @Option(help: "Model directory from 03-mosaic-model.")
    var model = "models/mosaic-bert-base-4096"
    @Option(help: "Output directory: train_logs.txt, loss.csv, loss.svg, model/, checkpoints/.")
    var output = "runs/lodestone"
    @Option(help: "Keep checkpoints in this store instead (local directory or s3://bucket/prefix).")
    var checkpointStore: String?
    @Option(help: "JSON file of hyperparameters (see above).")
    var config: String?
    @Flag(help: "Continue from the newest checkpoint.")
    var resume = false
    @Flag(help: "Start over even though a checkpoint exists (it is replaced by the new run's).")
    var restart = false
    @Option(help: "OpenBLAS threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Pairs per batch (default 16).") var batchSize: Int?
    @Option(help: "Words per text before tokenizing, and tokens per text (default 2048).") var maxSeqLength: Int?
    @Option(help: "Cycles (default 2).") var cycles: Int?
    @Option(help: "Chunks per cycle (default 50).") var chunks: Int?
    @Option(help: "Epochs per chunk (default 2).") var epochs: Int?
    @Option(help: "Steps per epoch (default 10000).") var stepsPerEpoch: Int?
    @Option(help: "Peak learning rate (default 2e-5).") var lr: Double?
    @Option(help: "Warmup steps of the first epoch (default 500).") var warmupSteps: Int?
    @Option(help: "AdamW weight decay (default 0.01).") var weightDecay: Double?
    @Option(help: "Gradient clipping norm (default 1.0).") var maxGradNorm: Double?
    @Option(help: "MNRL scale (default 20).") var scale: Double?
    @Flag(help: "Symmetric MNRL (both directions), all-MiniLM's recipe (default: off, as the original).") var symmetricLoss = false
    @Option(help: "AdamW epsilon (default 1e-6).") var adamEps: Double?
    @Option(help: "Seed of the sampler (default 42).") var seed: UInt64?
    @Option(help: "Stop with a checkpoint after this many steps in total (default: no limit).") var maxSteps: Int?
    @Option(help: "Seconds without a finished step before the epoch fails (default 600).") var stallTimeout: Double?
    @Option(help: "Also checkpoint every N steps inside an epoch (default 0: after epochs only).") var checkpointEvery: Int?

    func run() throws {
        var log = Logger(label: "04-training")
        log.logLevel = .info
        do { try train(log) } catch {
            log.error("\(error)")
            throw ExitCode.failure
        }
    }

    func train(_ log: Logger) throws {
        // 1. Hyperparameters: the original's, then --config, then flags.
        var hp = try config.map { try TrainingConfig.load(URL(fileURLWithPath: $0)) } ?? TrainingConfig()
        applyFlags(&hp)
        try hp.validate()
        setBLASThreads(threads)
        log.info("schedule: \(hp.cycles) cycles × \(hp.chunks) chunks × \(hp.epochs) epochs × \(hp.stepsPerEpoch) steps, batch \(hp.batchSize), lr \(hp.learningRate)")

        // 2. The data: every file of data_records.json, weighted by its records.
        let dataStore = try openStore(store, endpointURL: endpointURL)
        let files = try loadDataFiles(store: dataStore, recordsFile: URL(fileURLWithPath: records))
        log.info("data: \(files.count) files, \(files.map(\.records).reduce(0, +)) records in \(dataStore)")

        // 3. The model and its tokenizer from 03's directory, with MNRL and AdamW around it.
        let trainable = try EncoderTrainable(directory: URL(fileURLWithPath: model), config: hp)
        log.info("model: \(model), \(trainable.parameterCount) parameters")

        // 4. The Lodestone sampler: per chunk each file's next records//chunks examples, one file per batch.
        let sampler = try LodestoneSampler(files: files, chunks: hp.chunks, batchSize: hp.batchSize,
                                           maxWords: hp.maxSeqLength, seed: hp.seed,
                                           open: storeExampleOpener(store: dataStore))

        // 5. The trainer, its checkpoints, and where a previous run stopped.
        let outputURL = URL(fileURLWithPath: output)
        let checkpoints = try checkpointStore.map { Checkpointer(store: try openStore($0, endpointURL: endpointURL)) }
            ?? Checkpointer(store: try LocalStore(root: outputURL.appendingPathComponent("checkpoints")))
        var options = TrainerOptions(config: hp, outputDirectory: outputURL)
        options.faults = try FaultPlan.fromEnvironment()
        options.maxTokens = trainable.maxSeqLength
        options.crash = { _ in kill(getpid(), SIGKILL) }   // a drill of the real thing: LODESTONE_FAULTS=crash@N
        let interrupts = InterruptController()
        interrupts.installSignalHandler()
        let trainer = try Trainer(model: trainable, tokenizer: trainable.tokenizer, sampler: sampler,
                                  checkpointer: checkpoints, options: options, interrupts: interrupts)
        if resume {
            if try trainer.resume() {
                let p = trainer.progress
                log.info("resumed at cycle \(p.cycle), chunk \(p.chunk), epoch \(p.epoch), step \(p.stepInEpoch) (\(p.executedSteps) steps run)")
            } else {
                log.info("no checkpoint in \(checkpoints.location): starting from the beginning")
            }
        } else if !restart, try checkpoints.store.head(key: checkpoints.prefix + "LATEST") != nil {
            throw ValidationError("a checkpoint exists in \(checkpoints.location): pass --resume to continue it or --restart to start over")
        }

        // 6. Train: cycles × chunks × epochs, each epoch one of the original's fit calls.
        let stop = try trainer.run()

        // 7. Report: what happened and where everything is.
        print(trainer.summary().text)
        switch stop {
        case .finished: print("training finished; model in \(trainer.modelURL.path)")
        case .maxSteps: print("stopped at --max-steps; continue with --resume")
        case .interrupted: print("stopped by Ctrl-C; continue with --resume")
        }
    }

    func applyFlags(_ hp: inout TrainingConfig) {
        if let v = batchSize { hp.batchSize = v }
        if let v = maxSeqLength { hp.maxSeqLength = v }
        if let v = cycles { hp.cycles = v }
        if let v = chunks { hp.chunks = v }
        if let v = epochs { hp.epochs = v }
        if let v = stepsPerEpoch { hp.stepsPerEpoch = v }
        if let v = lr { hp.learningRate = v }
        if let v = warmupSteps { hp.warmupSteps = v }
        if let v = weightDecay { hp.weightDecay = v }
        if let v = maxGradNorm { hp.maxGradNorm = v }
        if let v = scale { hp.scale = v }
        if symmetricLoss { hp.symmetricLoss = true }
        if let v = adamEps { hp.adamEps = v }
        if let v = seed { hp.seed = v }
        if let v = maxSteps { hp.maxSteps = v }
        if let v = stallTimeout { hp.stallTimeout = v }
        if let v = checkpointEvery { hp.checkpointEvery = v }
    }
}

Training.main()
