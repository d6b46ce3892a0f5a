// Step 04 — Training.py: fine-tune the encoder with MultipleNegativesRankingLoss on every data file.
// Reads  the object store's `data/…json.gz` files, `data_records.json` (records per file: the sampling weights),
//        the sentence-transformers model directory written by 03-mosaic-model.
// Writes to --output: `train_logs.txt` (the original's Succeeded/Failed lines), `loss.csv`, `loss.svg`,
//        `model/` (a sentence-transformers directory, rewritten after every succeeded epoch) and `checkpoints/`
//        (or --checkpoint-store): weights, AdamW moments, counters, sampler and reader positions, RNG state;
//        with --log-batches FILE, every step's batch as JSON lines (to recompute a step's loss elsewhere).
// Unattended: a stalled epoch (--stall-timeout), a non-finite loss or gradient, or one Ctrl-C fails the epoch;
// its updates are dropped and training goes on. Two Ctrl-Cs within 3 s checkpoint and exit (status 130);
// `--resume` continues exactly where the checkpoint left off. An epoch is logged as succeeded only once its
// model and checkpoint are durably written.
// Under `mpirun -np N` every rank runs this same loop on the same global batch and encodes its slice of it
// (EncoderTrainer.collective); rank 0 alone reads the checkpoint (and sends it to the others) and writes
// everything. An error, a stall or Ctrl-C on any rank ends the whole job (MPI_Abort, non-zero); `--resume` continues.
import ArgumentParser
import Foundation
import LodestoneCLI
import LodestoneCore
import LodestoneTrainingCLI
import LodestoneDistributed
import Logging

BLASStartup.choose(step: "04-training")   // first: it may start the program again on another kernel

struct Training: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "04-training",
        abstract: "Train Lodestone: MNRL over every data file, Training.py's schedule, checkpoints and logs.",
        discussion: """
        Hyperparameters: the original's defaults, then --config FILE.json (snake_case keys: batch_size, \
        max_seq_length, cycles, chunks, epochs, steps_per_epoch, lr, warmup_steps, weight_decay, max_grad_norm, \
        scale, symmetric_loss, loss, matryoshka_dims, matryoshka_weights, guide_model, gist_temperature, gist_margin, \
        gist_margin_strategy, adam_eps, seed, max_steps, stall_timeout, checkpoint_every, dropout), then the flags below.
        Loss (--loss): mnrl, the original's MultipleNegativesRankingLoss; matryoshka, sentence-transformers' \
        MatryoshkaLoss around it: MNRL on the first d dimensions (re-normalized) for every d of --matryoshka-dims, \
        weighted by --matryoshka-weights and summed, every step; the model directory records the dims; gist, \
        sentence-transformers' GISTEmbedLoss: anchors against every positive, other anchor, other positive and hard \
        negative at cosine / --gist-temperature, where a candidate the --guide-model scores above the anchor's own \
        positive (less --gist-margin) is dropped as a false negative. The guide embeds each step's texts without \
        activations (each rank its slice under mpirun) and is never trained.
        Dropout (--dropout): auto trains as sentence-transformers' fit did, in train mode with the model's \
        config.json rates (hidden_dropout_prob after the embeddings, the attention output and the feed-forward \
        block; attention_probs_dropout_prob on the attention probabilities); off trains without; P sets both. \
        The masks follow from --seed and the step number, so --resume continues exactly. Inference never drops.
        A finished run, rerun with the same flags, reports where its model is and trains nothing; an unfinished \
        one needs --resume (continue) or --restart (start over).
        Under mpirun -np N (one host: --oversubscribe; several: --hostfile) the ranks train one model on the \
        same global batch, each encoding its slice; rank 0 alone writes the outputs and reads the checkpoint, which \
        it sends to the others. An error, a stall or Ctrl-C on any rank ends the whole job (non-zero); --resume \
        continues. --threads defaults to the cores divided among the host's ranks.
        Batch log (--log-batches FILE): one JSON line per step, {"step": n, "file": KEY, "columns": [[anchors…], \
        [positives…], [negatives…]]}: the batch as the loss received it, after the sampler's deduplication and \
        swaps, each text as it was tokenized (cut to max_seq_length words; no prompt is put before it; its tokens \
        are cut to the smaller of max_seq_length and the model's). Steps are numbered as in loss.csv, failed \
        epochs' included. Flushed and fsynced with every checkpoint; --resume cuts it back to the checkpoint's \
        step, so each step is there once. Under mpirun rank 0 writes it (every rank draws the same global batch). \
        Scripts/check-first-step.sh recomputes step 1's loss from it with sentence-transformers.
        Exit status: 0 when the schedule is done (or --max-steps reached), 1 on an error or when no epoch \
        succeeded, 130 after two Ctrl-Cs (a checkpoint is written; --resume continues).
        """)

    @OptionGroup var store: StoreOptions
    @Option(help: "data_records.json (from 02); when the file does not exist, the store's copy is read.")
    var records = "data/data_records.json"
    @Option(help: "Model directory from 03-mosaic-model.")
    var model = "models/mosaic-bert-base-4096"
    @Option(help: "Output directory: train_logs.txt, loss.csv, loss.svg, model/, checkpoints/.")
    var output = "runs/lodestone"
    @Option(help: "Keep checkpoints in this store instead (local directory or s3://bucket/prefix).")
    var checkpointStore: String?
    @Flag(help: "Continue from the newest checkpoint.")
    var resume = false
    @Flag(help: "Start over even though a checkpoint exists (it is replaced by the new run's).")
    var restart = false
    @Option(parsing: .unconditional, help: "OpenBLAS threads (default: the cores, shared by the ranks mpirun started on this host).")
    var threads = max(1, ProcessInfo.processInfo.activeProcessorCount / localRanks())
    @Option(parsing: .upToNextOption,
            help: "Evaluation sets scored after every succeeded epoch (as 05-embed evaluate --data: a BEIR directory, scored pairs, pairs); metrics go to eval.csv and loss.svg, and the best epoch is named at the end.")
    var eval: [String] = []
    @Option(help: ArgumentHelp("Write every step's batch to FILE, one JSON line per step (see above).", valueName: "file"))
    var logBatches: String?
    @Option(help: "GEMM precision: fp32, bf16 (bf16 GEMM inputs with fp32 sums; weights, AdamW, LayerNorm, softmax and the loss stay fp32; needs avx512_bf16, refused otherwise) or auto (bf16 where supported and faster). Checkpoints are fp32 either way.")
    var precision = "fp32"
    @Option(help: "Under mpirun, how the ranks' gradients are summed: blocking (one all-reduce after backward) or overlapped (each layer's sent as its backward ends, progressed between GEMMs). The same sums either way.")
    var gradientSum = "blocking"
    @OptionGroup var hyperparameters: TrainingOverrides

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, found \(threads)") }
        guard GradientSum(rawValue: gradientSum) != nil else {
            throw ValidationError("--gradient-sum must be blocking or overlapped, found \(gradientSum)")
        }
        if resume && restart {
            throw ValidationError("--resume and --restart exclude each other: --resume continues the checkpoint, --restart replaces it")
        }
        // Matryoshka widths past the model's width: a usage error too, when the model's config.json says its width
        // (a missing model is reported, as an input, later).
        let config = URL(fileURLWithPath: model).appendingPathComponent("config.json")
        if let hp = try? hyperparameters.trainingConfig(), let encoder = try? EncoderConfig(contentsOf: config),
           let problem = hp.problem(embeddingDimension: encoder.hidden) {
            throw ValidationError("--matryoshka-dims: \(problem) (\(model))")
        }
    }

    func run() throws {
        var collective: Collective = SingleProcess()
        try runStep("04-training", blasThreads: threads) { collective = try makeCollective() }
        guard collective is MPICollective else { return try runStep("04-training") { try train(collective) } }
        do {
            try train(collective)
        } catch let exit as ExitCode {   // a decision every rank takes alike (no epoch succeeded, a "stop" drill)
            try? finishCollective(collective)
            throw exit
        } catch {   // one rank's error: its line, then the whole job ends (the other ranks may wait in a collective)
            printError("04-training", "rank \(collective.rank) of \(collective.size): \(describe(error))")
            collective.abort(code: 1)
        }
        try finishCollective(collective)
    }

    /// Under mpirun each rank resolves `auto` (or is refused `bf16`) on its own CPU and timing: bf16 only where every
    /// rank chose it, so that the ranks' shares of a step are computed alike.
    func agreedPrecision(_ mine: MatmulPrecision, _ collective: Collective) throws -> MatmulPrecision {
        guard collective.size > 1 else { return mine }
        var votes: Float = mine == .bf16 ? 1 : 0
        try collective.allReduceSum(&votes, count: 1)
        return Int(votes) == collective.size ? mine : .fp32
    }

    func train(_ collective: Collective) throws {
        var log = Logger(label: "04-training")
        log.logLevel = collective.isRoot ? .info : .error   // rank 0 speaks for the job
        let writer = collective.isRoot

        // 1. Hyperparameters: the original's, then --config, then flags; an --output that is an input in disguise
        //    (inside --model or a store, or holding --model) is refused before any work.
        let hp = try hyperparameters.trainingConfig()
        if writer { try checkOutput() }
        setBLASThreads(threads)
        let matmul = try agreedPrecision(try resolvePrecision(precision, step: "04-training"), collective)   // after the threads: auto times them
        if collective is MPICollective { log.info("\(mpiLine(collective, hp))") }
        log.info("schedule: \(hp.cycles) cycles × \(hp.chunks) chunks × \(hp.epochs) epochs × \(hp.stepsPerEpoch) steps, batch \(hp.batchSize), lr \(hp.learningRate)")

        // 2. The evaluation sets, read first so that a bad one stops the run before anything is written.
        let evaluators = !writer ? [] : try eval.map { try Evaluators.load($0) }
        for evaluator in evaluators { log.info("eval: \(evaluator.data): \(evaluator.summary)") }

        // 3. The data: every file of data_records.json, weighted by its records.
        let dataStore = try store.open(create: false)   // the data 01 wrote: a mistyped --store is an error, not a new directory
        let files = try loadDataFiles(store: dataStore, recordsFile: URL(fileURLWithPath: records))
        log.info("data: \(files.count) files, \(files.map(\.records).reduce(0, +)) records in \(dataStore)")

        // 4. The model and its tokenizer from 03's directory, with MNRL and AdamW around it.
        let (encoder, tokenizer, maxTokens) = try loadModel(hp)
        encoder.collective = collective
        encoder.gradientSum = GradientSum(rawValue: gradientSum) ?? .blocking   // validated above
        // GIST's guide: any sentence-transformers directory (its own tokenizer, pooling and max_seq_length).
        let guide = try hp.guideModel.map { try SentenceModel.load(URL(fileURLWithPath: $0)) }
        if let guide, let path = hp.guideModel {
            log.info("guide: \(path), \(guide.encoder.parameterCount) parameters, \(guide.fullDimension) dimensions, \(guide.maxSeqLength) tokens")
        }
        encoder.encoder.precision = matmul
        guide?.encoder.precision = matmul
        encoder.guide = guide
        log.info("model: \(model), \(encoder.parameterCount) parameters, dropout \(encoder.dropout) (--dropout \(hp.dropout)), GEMMs in \(matmul.rawValue) (--precision \(precision))")
        log.info("loss: \(lossSummary(hp))")
        // Each step's passes must fit the memory budget: checked before anything is written.
        if let plan = try Trainer.planMemory(encoder, config: hp, maxTokens: maxTokens) {
            log.info("memory: \(plan.summary(rows: 2 * hp.batchSize, tokensPerText: min(maxTokens, hp.maxSeqLength)))")
        }

        // 5. Where a previous run stopped: a finished run is reported, an unfinished one needs --resume or --restart.
        // Rank 0 alone opens the output and the checkpoints; the other ranks get what it reads.
        let outputURL = URL(fileURLWithPath: output)
        var checkpoints: Checkpointer?
        if writer {
            let separate = try checkpointStore.map { Checkpointer(store: try openStore($0, endpointURL: store.endpointURL)) }
            try Directory.create(outputURL)
            try OutputLock.hold(directory: outputURL.path, step: "04-training")   // one run per output
            checkpoints = try separate ?? Checkpointer(store: try LocalStore(root: outputURL.appendingPathComponent("checkpoints")))
        }
        let location = checkpoints?.location ?? "rank 0's checkpoint store"
        if !restart, let saved = try Checkpointer.sharedLatestState(checkpoints, collective: collective) {
            if saved.progress.finished && (resume || saved.config == hp) {
                return writer ? try reportFinished(saved.progress, modelURL: outputURL.appendingPathComponent("model")) : ()
            }
            if !resume {
                throw ValidationError("a checkpoint exists in \(location): pass --resume to continue it or --restart to start over")
            }
        }

        // 6. The Lodestone sampler: per chunk each file's next records//chunks examples, one file per batch.
        let sampler = try LodestoneSampler(files: files, chunks: hp.chunks, batchSize: hp.batchSize,
                                           maxWords: hp.maxSeqLength, seed: hp.seed,
                                           open: storeExampleOpener(store: dataStore))

        // 7. The trainer, continuing from the checkpoint when asked; --eval scores the model after each succeeded epoch.
        var options = TrainerOptions(config: hp, outputDirectory: outputURL)
        options.faults = try FaultPlan.fromEnvironment(rank: collective.rank)
        options.collective = collective
        options.showProgress = writer
        options.maxTokens = maxTokens
        options.baseModel = model
        options.guideTokenizer = guide.map { ($0.tokenizer, $0.maxSeqLength) }
        options.batchLogURL = logBatches.map { URL(fileURLWithPath: $0) }
        options.crash = { _ in kill(getpid(), SIGKILL) }   // a drill of the real thing: LODESTONE_FAULTS=crash@N
        if !evaluators.isEmpty {
            let scorer = SentenceModel(config: encoder.encoder.config, encoder: encoder.encoder, tokenizer: tokenizer, maxSeqLength: maxTokens)
            // A Matryoshka run is scored at each of its widths (largest first), as sentence-transformers' matryoshka
            // recipe evaluates with truncate_dim: the metrics are named dim_<d>_…, and loss.svg draws a panel per width.
            let widths: [Int?] = (encoder.loss as? MatryoshkaLoss)?.dims ?? [nil]
            options.evaluate = {
                try evaluators.flatMap { evaluator in
                    try widths.map { try evaluator.evaluate(model: model, truncateDim: $0) { try scorer.embed($0) } }
                }
            }
        }
        let interrupts = InterruptController()
        // Under mpirun, Ctrl-C keeps its default action: mpirun ends the whole job (one rank failing its epoch
        // alone would leave the ranks apart); --resume continues from the last checkpoint.
        if collective.isSingleProcess { interrupts.installSignalHandler() }
        let trainer = try Trainer(model: encoder, tokenizer: tokenizer, sampler: sampler,
                                  checkpointer: checkpoints, options: options, interrupts: interrupts)
        if resume {
            if try trainer.resume() {
                let p = trainer.progress
                log.info("resumed at cycle \(p.cycle), chunk \(p.chunk), epoch \(p.epoch), step \(p.stepInEpoch) (\(p.executedSteps) steps run)")
            } else {
                log.info("no checkpoint in \(location): starting from the beginning")
            }
        }

        // 8. Train: cycles × chunks × epochs, each epoch one of the original's fit calls.
        let stop = try trainer.run()

        // 9. Report: what happened, where everything is, and an exit status that says so (every rank alike).
        if writer { print(trainer.summary().text) }
        func say(_ text: String) { if writer { print(text) } }
        switch stop {
        case .finished where trainer.progress.succeededEpochs == 0:
            if writer { printError("04-training", "no epoch succeeded (\(trainer.progress.failedEpochs) failed): no model written") }
            throw ExitCode.failure
        case .finished: say("training finished; model in \(trainer.modelURL.path)")
        case .maxSteps: say("stopped at --max-steps; continue with --resume")
        case .interrupted:
            say("stopped by Ctrl-C; continue with --resume")
            throw ExitCode(interruptedExitStatus)
        }
    }

    /// The start line under mpirun: the job's ranks and this host's share of them, of its memory and of each step.
    func mpiLine(_ collective: Collective, _ hp: TrainingConfig) -> String {
        let local = localRanks()
        let host = ProcessInfo.processInfo.hostName
        return "mpi: \(collective.size) ranks, \(local) on this host (\(host)), \(threads) BLAS thread(s) and a memory budget of \(formatMemory(hp.memoryBudgetBytes)) each; every global batch of \(hp.batchSize) pairs is split across the ranks by tokens, embeddings all-gathered, gradients summed; rank 0 writes everything"
    }

    /// The trainable encoder of 03's directory, its tokenizer and token cap. The directory itself is dropped on
    /// return: the encoder holds the weights, and a second copy would double the model's memory.
    func loadModel(_ hp: TrainingConfig) throws -> (EncoderTrainer, WordPieceTokenizer, Int) {
        let directory = try SentenceTransformerDirectory.read(URL(fileURLWithPath: model))
        // The trainer's loss runs through the fused mean pooling and L2 normalization (what 03 writes).
        guard directory.pooling.isNormalizedMean else {
            throw InputError(file: model, reason: "its modules after the encoder are \(directory.pooling.summary); training supports mean pooling with Normalize only")
        }
        return (try EncoderTrainer(directory: directory, config: hp), directory.tokenizer, directory.maxSeqLength)
    }

    /// The loss in one line, as sentence-transformers would name it.
    func lossSummary(_ hp: TrainingConfig) -> String {
        if hp.loss == .gist, let gist = hp.embeddingLoss() as? GISTEmbedLoss {
            return "GISTEmbedLoss(guide \(hp.guideModel ?? ""), temperature \(gist.temperature), \(gist.marginStrategy.rawValue) margin \(gist.margin))"
        }
        let mnrl = "MultipleNegativesRankingLoss(scale \(hp.scale)\(hp.symmetricLoss ? ", symmetric" : ""))"
        guard hp.loss == .matryoshka, let dims = hp.matryoshkaDims else { return mnrl }
        let weights = hp.matryoshkaWeights.map { ", weights \($0.map { String(format: "%g", $0) }.joined(separator: ","))" } ?? ""
        return "MatryoshkaLoss(\(mnrl), dims \(dims.map(String.init).joined(separator: ","))\(weights))"
    }

    /// Refuses an --output inside an input directory (--model, a local --store or --checkpoint-store, an --eval
    /// set) or equal to an input file, and one that holds --model (its model/ would replace the base model).
    func checkOutput() throws {
        let stores = [("--store", store.store), ("--checkpoint-store", checkpointStore)].compactMap { flag, value in
            value.flatMap(localStorePath).map { OutputGuard.Input(flag, $0) }
        }
        let inputs = [OutputGuard.Input("--model", model), OutputGuard.Input("--records", records)] + stores
            + eval.map { OutputGuard.Input("--eval", $0) } + [guideModelFlag].compactMap { $0 }
        try OutputGuard.checkDirectory(output, flag: "--output", inputs: inputs, mustNotHold: [.init("--model", model)])
        if let logBatches { try checkBatchLog(logBatches, inputs: inputs) }
    }

    /// Refuses a --log-batches FILE that is a directory, an input (or inside one), --output itself, or one of
    /// the run's other outputs (its logs, manifest and lock, model/, the checkpoints).
    func checkBatchLog(_ file: String, inputs: [OutputGuard.Input]) throws {
        let config = hyperparameters.config.map { [OutputGuard.Input("--config", $0)] } ?? []
        try OutputGuard.checkFile(file, flag: "--log-batches", inputs: inputs + config)
        let out = URL(fileURLWithPath: output)
        let names = TrainingOutputs.logNames + [TrainingOutputs.manifestName, OutputLock.fileName]
        let files = [OutputGuard.Input("--output", output)]
            + names.map { OutputGuard.Input("--output's", out.appendingPathComponent($0).path) }
        var directories = [OutputGuard.Input("--output's", out.appendingPathComponent("model").path)]
        if checkpointStore == nil { directories.append(.init("--output's", out.appendingPathComponent("checkpoints").path)) }
        try OutputGuard.checkNotOtherOutput(file, flag: "--log-batches", files: files, directories: directories)
    }

    /// --guide-model (flag or config file) as an input --output must stay out of.
    var guideModelFlag: OutputGuard.Input? {
        (try? hyperparameters.trainingConfig())?.guideModel.map { OutputGuard.Input("--guide-model", $0) }
    }

    /// A rerun of a finished run: nothing to train; say so, and where the model is.
    func reportFinished(_ p: TrainerProgress, modelURL: URL) throws {
        let epochs = "\(p.succeededEpochs) epochs succeeded, \(p.failedEpochs) failed, \(p.committedSteps) steps kept"
        guard p.succeededEpochs > 0, Directory.exists(modelURL.path) else {
            printError("04-training", "training already finished (\(epochs)) without a model in \(modelURL.path); pass --restart to train again")
            throw ExitCode.failure
        }
        print("training already finished (\(epochs)); model in \(modelURL.path)")
    }
}

/// Ranks mpirun started on this host (1 for a plain run).
func localRanks() -> Int {
    max(1, ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1)
}

// Under mpirun a usage error is printed by rank 0 alone (the rank comes from the launcher's environment: MPI is
// not started before the arguments are good).
Training.main(printingUsageOnRankZero: MPICollective.launchRank)
