import Foundation
import LodestoneBase
import LodestoneData
import LodestoneReport
import LodestoneModel
import LodestoneEvaluation

/// How a run of the trainer ended.
public enum TrainingStop: Equatable, Sendable {
    /// Every cycle, chunk and epoch is done.
    case finished
    /// `max_steps` reached; a checkpoint was written, `--resume` continues.
    case maxSteps
    /// A second Ctrl-C; a checkpoint was written, `--resume` continues.
    case interrupted
}

/// Outputs and knobs of a trainer run besides the hyperparameters.
public struct TrainerOptions {
    public var config: TrainingConfig
    /// Local directory for train_logs.txt, loss.csv, loss.svg and model/.
    public var outputDirectory: URL
    public var faults = FaultPlan()
    /// Write `model/` after every succeeded epoch (else only at the end; never before an epoch succeeded).
    public var saveModelEachEpoch = true
    /// Seconds between progress lines when stderr is not a terminal.
    public var progressInterval = 10.0
    public var showProgress = true
    /// What a `crash` fault does: by default throws `SimulatedCrash`; 04-training makes it a real `kill -9`.
    public var crash: (Int) throws -> Void = { throw SimulatedCrash(step: $0) }
    /// Token cap per text when the model allows fewer than `max_seq_length` (e.g. BERT's 512 positions).
    public var maxTokens: Int?
    /// Scores the model after every succeeded epoch (04-training --eval); the results go to eval.csv and the plot.
    public var evaluate: (() throws -> [EvaluationResult])?
    /// The ranks sharing every step (mpirun): each runs the same loop on the same global batch; rank 0 alone
    /// writes (output directory, logs, checkpoints, model, plot) and reads the checkpoint it shares with the
    /// others. A stalled step ends the whole job instead of failing one rank's epoch.
    public var collective: Collective = SingleProcess()
    /// Whether this process writes the outputs: rank 0.
    public var isWriter: Bool { collective.isRoot }
    /// The model training started from (04's --model), named in the saved model's card.
    public var baseModel: String?
    /// A guide model's tokenizer and token cap (GIST): each step's texts are tokenized for it too.
    public var guideTokenizer: (tokenizer: TextTokenizer, maxTokens: Int)?
    /// Where every step's batch goes, one JSON line per step (04's --log-batches; `BatchLog`). Rank 0 writes it:
    /// every rank draws the same global batch.
    public var batchLogURL: URL?
    public init(config: TrainingConfig, outputDirectory: URL) {
        self.config = config; self.outputDirectory = outputDirectory
    }
}

/// Training.py's loop, unattended: cycles × chunks × epochs × steps; each epoch is one of the original's `fit`
/// calls (fresh AdamW, WarmupLinear over its own steps, warmup on the very first only). After a succeeded epoch
/// the model is written and the state checkpointed, and only then is the epoch logged as succeeded; a failed
/// epoch (stall, non-finite loss or gradient, Ctrl-C, an error in the step) rolls the parameters back to the
/// last checkpoint and training goes on with the next.
public final class Trainer {
    public let model: TrainableEncoder
    public let tokenizer: TextTokenizer
    public let sampler: LodestoneSampler
    /// Where checkpoints go; nil on the ranks that do not write (mpirun's ranks other than 0).
    public let checkpointer: Checkpointer?
    public let interrupts: InterruptController
    /// How a step of the largest batch the run can take splits to stay within the memory budget (nil: a model
    /// that does not plan memory).
    public private(set) var memoryPlan: MemoryPlan?
    public private(set) var progress = TrainerProgress()
    public private(set) var options: TrainerOptions
    private var config: TrainingConfig { options.config }
    private var lossAverage = MovingAverage(window: 100)
    /// The rollback target (the last checkpoint, or the start), on disk: no copy of the model in memory.
    private let rollback: RollbackPoint
    private var trainLog: TrainLog?
    private var lossLog: LossLog?
    private var evalLog: EvalLog?
    private var batchLog: BatchLog?
    /// What the writer has written in the output directory (its manifest); nil on the other ranks.
    private var outputs: TrainingOutputs?
    private let printer: ProgressPrinter
    private let watchdog = StallWatchdog()
    /// The results of the last --eval, for the model card.
    private var lastEvaluation: [ModelCard.Metric] = []
    private var runStart = Date()
    private var pairsThisRun = 0
    private var stepsThisRun = 0

    /// Has `model` plan its steps within the run's memory budget (for the largest batch the run can take:
    /// `batch_size` rows of three texts at the token cap); throws when one text alone would not fit. The loop
    /// itself holds no model-sized buffer (rollbacks read the target back from disk), so nothing is added.
    public static func planMemory(_ model: TrainableEncoder, config: TrainingConfig, maxTokens: Int?) throws -> MemoryPlan? {
        let tokens = min(config.maxSeqLength, maxTokens ?? .max)
        guard let plan = model.planMemory(budget: config.memoryBudgetBytes, maxTexts: config.miniBatchSize,
                                          otherBytes: 0,
                                          pairs: config.batchSize, columns: 3, tokensPerText: tokens) else { return nil }
        if !plan.fits, let budget = plan.budget, plan.fixedBytes + plan.oneTextBytes <= budget {
            // One text would fit: the batch's own buffers (embeddings and the B×B score matrix) are what do not,
            // whatever the text length.
            let pairs = config.batchSize
            throw TrainingError.config(file: config.memoryBudget == nil ? "default" : "flags", field: "memory_budget", reason: "\(formatMemory(budget)) is too small for a batch of \(pairs) pairs: its \(pairs) × \(pairs) score matrices and embeddings take \(formatMemory(plan.stepBytes)) besides the model, optimizer and runtime's \(formatMemory(plan.fixedBytes)); give a smaller batch_size or at least \(formatMemory(plan.fixedBytes + plan.stepBytes + plan.oneTextBytes))")
        }
        if !plan.fits {
            throw TrainingError.config(file: config.memoryBudget == nil ? "default" : "flags", field: "memory_budget", reason: "\(formatMemory(plan.budget ?? 0)) is too small: the model, optimizer and runtime take \(formatMemory(plan.fixedBytes)) and one text of \(tokens) tokens \(formatMemory(plan.oneTextBytes)) more; give at least \(formatMemory(plan.fixedBytes + plan.stepBytes + plan.oneTextBytes)) or a smaller max_seq_length")
        }
        return plan
    }

    public var trainLogURL: URL { options.outputDirectory.appendingPathComponent("train_logs.txt") }
    public var lossCSVURL: URL { options.outputDirectory.appendingPathComponent("loss.csv") }
    public var lossPlotURL: URL { options.outputDirectory.appendingPathComponent("loss.svg") }
    public var evalCSVURL: URL { options.outputDirectory.appendingPathComponent("eval.csv") }
    public var modelURL: URL { options.outputDirectory.appendingPathComponent("model") }

    public init(model: TrainableEncoder, tokenizer: TextTokenizer, sampler: LodestoneSampler, checkpointer: Checkpointer?,
                options: TrainerOptions, interrupts: InterruptController = InterruptController()) throws {
        try options.config.validate()
        self.model = model; self.tokenizer = tokenizer; self.sampler = sampler
        self.checkpointer = checkpointer; self.options = options; self.interrupts = interrupts
        printer = ProgressPrinter(interval: options.progressInterval)
        rollback = RollbackPoint(checkpointer: checkpointer, collective: options.collective, scratchDirectory: options.outputDirectory)
        memoryPlan = try Trainer.planMemory(model, config: options.config, maxTokens: options.maxTokens)
        if options.isWriter {
            try Directory.create(options.outputDirectory)
            // Files under the trainer's names that it did not write are refused now, before any training.
            outputs = try TrainingOutputs(directory: options.outputDirectory)
            try outputs?.checkOwned()
        }
    }

    /// Claims the log files in the output manifest before they are created or rewritten.
    private func claimLogs() throws {
        try outputs?.claim(["train_logs.txt", "loss.csv", "loss.svg"] + (options.evaluate == nil ? [] : ["eval.csv"]))
    }

    /// Continues from the newest checkpoint. Returns false (and changes nothing) when there is none. The arrays
    /// are read straight into the model's, so a checkpoint found damaged throws with the model overwritten: the
    /// run must end there (04-training does).
    @discardableResult
    public func resume() throws -> Bool {
        // Straight into the model's arrays on every rank (rank 0 reads, the others receive).
        let collective = options.collective
        guard let state = try model.withTrainingState({ try Checkpointer.sharedLoadLatest(checkpointer, into: &$0, collective: collective) })
        else { return false }
        rollback.resumed()
        if state.config != config {
            note("note: hyperparameters differ from the checkpoint's; continuing with the ones given now")
        }
        try sampler.restore(state.sampler)
        progress = state.progress
        lossAverage = state.lossAverage
        guard options.isWriter else { return true }
        try claimLogs()
        trainLog = try TrainLog(url: trainLogURL, keepLines: progress.logLines, lastLine: progress.lastLogLine)
        lossLog = try LossLog(url: lossCSVURL, keepThrough: progress.executedSteps)
        if options.evaluate != nil { evalLog = try EvalLog(url: evalCSVURL, keepThrough: progress.executedSteps) }
        if let url = options.batchLogURL { batchLog = try BatchLog(url: url, keepThrough: progress.executedSteps) }
        // A kill between the checkpoint of a succeeded epoch and the rename of its model left model/ behind the
        // log: the checkpoint, taken at the epoch's end, holds that model; put it in place.
        if progress.stepInEpoch == 0, progress.succeededEpochs > 0, options.saveModelEachEpoch,
           progress.lastLogLine?.hasPrefix("Succeeded") == true, outputs?.modelIsBehind(step: progress.executedSteps) == true {
            note("model/ is behind the checkpoint (a run killed while putting it in place): writing the checkpoint's model")
            try saveModel()
        }
        return true
    }

    /// Runs until the schedule is done, `max_steps` is reached, or a second Ctrl-C.
    public func run() throws -> TrainingStop {
        if options.isWriter {
            try claimLogs()
            if trainLog == nil { trainLog = try TrainLog(url: trainLogURL, keepLines: 0) }
            if lossLog == nil { lossLog = try LossLog(url: lossCSVURL, keepThrough: nil) }
            if options.evaluate != nil, evalLog == nil { evalLog = try EvalLog(url: evalCSVURL, keepThrough: nil) }
            if let url = options.batchLogURL, batchLog == nil { batchLog = try BatchLog(url: url, keepThrough: nil) }
        }
        try RankStart(stateChecksum: try model.withTrainingState { Checkpointer.checksum($0) },
                      config: config, files: sampler.files, sampler: sampler.state).checkAgainstRoot(options.collective)
        try rollback.begin(model)
        runStart = Date(); pairsThisRun = 0; stepsThisRun = 0
        watchdog.start(hardTimeout: 3 * config.stallTimeout)
        defer { watchdog.stop(); try? lossLog?.flush(); try? batchLog?.flush(); printer.finishLine(); try? writePlot() }

        while !progress.finished {
            if let max = config.maxSteps, progress.executedSteps >= max {
                if progress.stepInEpoch > 0 { try checkpoint() }
                return .maxSteps
            }
            if !sampler.isChunkLoaded {
                watchdog.beat(armed: false)
                try sampler.loadChunk()
            }
            let outcome = try runEpoch()
            printer.finishLine()
            switch outcome {
            case .paused:
                try checkpoint()
                return interrupts.stopRequested ? .interrupted : .maxSteps
            case .succeeded:
                progress.committedSteps += config.stepsPerEpoch
                progress.succeededEpochs += 1
                try evaluateEpoch()
                try finishEpoch(succeeded: true)
            case .failed(let reason):
                note("epoch failed (cycle \(progress.cycle), chunk \(progress.chunk), epoch \(progress.epoch)): \(reason); parameters rolled back to the last checkpoint")
                try rollback.restore(model)
                progress.failedEpochs += 1
                try finishEpoch(succeeded: false)
                if interrupts.stopRequested { return .interrupted }
            }
            try? writePlot()
            try waitForWriter()
        }
        return .finished
    }

    enum EpochOutcome { case succeeded, failed(String), paused }

    private func runEpoch() throws -> EpochOutcome {
        let isFirstSchedule = progress.cycle == 0 && progress.chunk == 0 && progress.epoch == 0
        let warmup = isFirstSchedule ? config.warmupSteps : 0
        if progress.stepInEpoch == 0 { model.resetOptimizer() }
        watchdog.beat()
        while progress.stepInEpoch < config.stepsPerEpoch {
            if let max = config.maxSteps, progress.executedSteps >= max { return .paused }
            let stepNumber = progress.executedSteps + 1
            let fault = options.faults.faults.removeValue(forKey: stepNumber)
            switch fault {
            case .interrupt?: interrupts.receive()
            case .stop?: interrupts.receive(); interrupts.receive()
            case .crash?: try lossLog?.flush(); try batchLog?.flush(); try options.crash(stepNumber)
            default: break
            }
            if interrupts.takeFailRequest() { return .failed("interrupted by Ctrl-C before step \(stepNumber)") }
            if interrupts.stopRequested { return .paused }

            let started = Date()
            let (file, examples) = try sampler.nextBatch()
            let texts = textColumns(examples)   // the batch is final here: deduplicated, pairs swapped
            batchLog?.append(step: stepNumber, file: sampler.files[file].key, columns: texts)
            let lr = WarmupLinear(warmupSteps: warmup, totalSteps: config.stepsPerEpoch).learningRate(base: config.learningRate, step: progress.stepInEpoch)
            var result: StepResult
            do {
                if fault == .stall { Thread.sleep(forTimeInterval: config.stallTimeout + 0.05) }
                result = try model.trainStep(columns: tokenize(texts), guideColumns: tokenizeForGuide(texts),
                                             learningRate: Float(lr),
                                             dropoutSeed: Self.dropoutSeed(seed: config.seed, step: stepNumber))
            } catch where options.collective.isSingleProcess {
                progress.stepInEpoch += 1; progress.executedSteps += 1
                return .failed("step \(stepNumber): \(error)")
            }
            if fault == .nan { result.loss = .nan }
            if fault == .infGrad { result.gradNorm = .infinity }
            let seconds = Date().timeIntervalSince(started)
            progress.stepInEpoch += 1; progress.executedSteps += 1
            stepsThisRun += 1; pairsThisRun += examples.count
            if result.loss.isFinite { lossAverage.add(Double(result.loss)) }
            lossLog?.append(LossRow(step: progress.executedSteps, cycle: progress.cycle, chunk: progress.chunk,
                                   epoch: progress.epoch, loss: Double(result.loss), lossAverage: lossAverage.value,
                                   learningRate: lr))
            guard result.isFinite else {
                return .failed("non-finite \(result.loss.isFinite ? "gradient norm" : "loss") at step \(stepNumber)")
            }
            guard seconds <= config.stallTimeout else {
                let reason = String(format: "stalled: step %d took %.1f s (stall timeout %.1f s)", stepNumber, seconds, config.stallTimeout)
                if !options.collective.isSingleProcess { throw JobMustEnd(reason: reason) }
                return .failed(reason)
            }
            watchdog.beat()
            if options.showProgress { printer.update(snapshot(lr: lr)) }
            if config.checkpointEvery > 0, progress.stepInEpoch % config.checkpointEvery == 0,
               progress.stepInEpoch < config.stepsPerEpoch {
                try checkpoint()
                try waitForWriter()
            }
        }
        return .succeeded
    }

    /// The seed of step `step`'s dropout masks: a function of the run's seed and the step number alone, so a run
    /// resumed from a checkpoint (which restores the step count) draws exactly the masks an unbroken one draws.
    public static func dropoutSeed(seed: UInt64, step: Int) -> UInt64 {
        var g = SplitMix64(seed: seed ^ 0xD20F_0A7E_5EED_0000)
        g.state &+= UInt64(truncatingIfNeeded: step) &* 0xD1B5_4A32_D192_ED03
        return g.next()
    }

    /// The batch's texts, one column per text position (anchors, positives, negatives…); as many columns as
    /// the shortest example has texts. Exactly what is tokenized: no prompt is put before them.
    func textColumns(_ examples: [TrainingExample]) -> [[String]] {
        let columns = examples.map(\.texts.count).min() ?? 0
        return (0..<columns).map { c in examples.map { $0.texts[c] } }
    }

    /// Texts → token ids (by the model's tokenizer, or `other`), at most `max_seq_length`, the model's cap and `otherCap` per text.
    func tokenize(_ columns: [[String]], with other: TextTokenizer? = nil, cap otherCap: Int = .max) -> [[[Int32]]] {
        let cap = min(config.maxSeqLength, options.maxTokens ?? .max, otherCap)
        let tokenizer = other ?? self.tokenizer
        return columns.map { column in column.map { tokenizer.encode($0, maxLength: cap) } }
    }

    /// The same texts for the guide model (nil without one): its tokenizer, within both models' caps.
    func tokenizeForGuide(_ columns: [[String]]) -> [[[Int32]]]? {
        options.guideTokenizer.map { tokenize(columns, with: $0.tokenizer, cap: $0.maxTokens) }
    }

    /// Moves to the next epoch (and chunk, and cycle).
    private func advance() {
        progress.stepInEpoch = 0
        progress.epoch += 1
        if progress.epoch == config.epochs {
            progress.epoch = 0; progress.chunk += 1
            sampler.finishChunk()
            if progress.chunk == config.chunks {
                progress.chunk = 0; progress.cycle += 1
                if progress.cycle == config.cycles { progress.finished = true }
            }
        }
    }

    /// Ends an epoch in the order that keeps the log truthful: the model (after a success) is staged beside
    /// `model/`, then the checkpoint, which records the epoch's log line, is written; only then does the staged
    /// model replace `model/` (a rename) and the line go to the log. A full disk while staging the model or
    /// writing the checkpoint leaves `model/` and the log as they were (the epoch is redone by `--resume`); a
    /// kill after the checkpoint leaves a line that `resume` puts back.
    private func finishEpoch(succeeded: Bool) throws {
        let line = TrainLog.line(succeeded: succeeded, cycle: progress.cycle, chunk: progress.chunk,
                                 epoch: progress.epoch, steps: progress.committedSteps)
        advance()
        progress.logLines = (trainLog?.lineCount ?? progress.logLines) + 1
        progress.lastLogLine = line
        // No model is written until an epoch has succeeded: it would only be a copy of the input.
        let staged = progress.succeededEpochs > 0 && ((succeeded && options.saveModelEachEpoch) || progress.finished)
            ? try stageModel() : nil
        do {
            try checkpoint(modelChanged: succeeded)
        } catch {
            if let staged { try? FileManager.default.removeItem(at: staged) }
            throw error
        }
        if let staged { try swapInModel(staged) }
        try trainLog?.append(line)
    }

    /// Scores the epoch's model on every --eval set; rows carry the epoch's last step, so a resume keeps them
    /// exactly when it keeps the epoch.
    private func evaluateEpoch() throws {
        guard let evaluate = options.evaluate, let evalLog else { return }
        watchdog.beat(armed: false)
        lastEvaluation = []
        for result in try evaluate() {
            lastEvaluation += result.orderedNames.compactMap { name in
                result.metrics[name].flatMap { value in
                    value.isFinite ? ModelCard.Metric(data: result.data, name: EvalRow.metricName(name, dimension: result.dimension), value: value) : nil
                }
            }
            result.notes.forEach { note("evaluation: " + $0 + " (left out of eval.csv)") }
            for name in result.orderedNames where result.metrics[name]!.isFinite {   // eval.csv holds numbers only
                evalLog.append(EvalRow(step: progress.executedSteps, cycle: progress.cycle, chunk: progress.chunk,
                                       epoch: progress.epoch, data: result.data, metric: EvalRow.metricName(name, dimension: result.dimension),
                                       value: result.metrics[name]!, primary: name == result.primaryMetric))
            }
            let value = result.metrics[result.primaryMetric].flatMap { $0.isFinite ? String(format: "%.4f", $0) : nil } ?? "undefined"
            note(String(format: "evaluation after cycle %d chunk %d epoch %d: %@ %@ %@", progress.cycle, progress.chunk,
                        progress.epoch, result.data, EvalRow.metricName(result.primaryMetric, dimension: result.dimension), value))
        }
        watchdog.beat()
    }

    /// Saves everything needed to continue exactly from here; this state becomes the rollback target. The writer
    /// alone saves it, streaming the model's own arrays. `modelChanged` false: the model was just rolled back.
    private func checkpoint(modelChanged: Bool = true) throws {
        if options.isWriter, let checkpointer, let lossLog {
            try lossLog.flush(durable: true)
            try evalLog?.flush(durable: true)
            try batchLog?.flush(durable: true)   // a killed run keeps every step its checkpoint counts
            let state = CheckpointState(progress: progress, sampler: sampler.state, lossAverage: lossAverage, config: config,
                                        parameterCount: model.parameterCount, optimizerStep: 0, weightsChecksum: 0)
            try model.withTrainingState { try checkpointer.save(state, model: $0) }
        }
        try rollback.checkpointed(model, changed: modelChanged)
    }

    /// Writes `model/` (atomically and durably: staged beside it, then swapped in).
    public func saveModel() throws {
        guard let staged = try stageModel() else { return }
        try swapInModel(staged)
    }

    /// Renames the staged model into place and records its step in the manifest.
    private func swapInModel(_ staged: URL) throws {
        try Directory.swapIn(staged.path, to: modelURL.path)
        try outputs?.recordModel(step: progress.executedSteps)
    }

    /// Writes the model, durably, to a hidden staging directory beside `model/` (`.model.<pid>.<random>.partial`,
    /// removed by the next run if this one is killed) and claims its files in the manifest; nil on the ranks
    /// that do not write.
    private func stageModel() throws -> URL? {
        guard options.isWriter else { return nil }
        AtomicFile.removeAbandonedTemporaries(directory: options.outputDirectory.path, name: "model")
        Directory.recoverInterruptedReplace(of: modelURL)
        let staged = options.outputDirectory.appendingPathComponent(AtomicFile.temporaryName(for: "model"))
        do {
            try model.saveModelDirectory(to: staged)
            try writeModelCard(into: staged)
            try outputs?.claimModel(staged: staged)
        } catch {
            try? FileManager.default.removeItem(at: staged)
            throw error
        }
        return staged
    }

    /// README.md of a saved model: what it was trained on and how, and the last evaluation's results.
    private func writeModelCard(into staged: URL) throws {
        guard var subject = model.template else { return }
        if config.loss == .matryoshka { subject.matryoshkaDims = config.matryoshkaDims?.sorted(by: >) }
        var card = ModelCard(baseModel: options.baseModel)
        card.trainingFiles = sampler.files.map { ($0.key, $0.records) }
        let ranking = config.symmetricLoss ? "MultipleNegativesSymmetricRankingLoss" : "MultipleNegativesRankingLoss"
        switch config.loss {
        case .mnrl: card.loss = ranking
        case .matryoshka: card.loss = "MatryoshkaLoss(\(ranking), matryoshka_dims=\(config.matryoshkaDims ?? []))"
        case .gist: card.loss = "GISTEmbedLoss(guide=\(config.guideModel ?? ""))"
        }
        card.hyperparameters = config.cardRows
        card.metrics = lastEvaluation
        card.trainingSummary = "\(progress.executedSteps) steps in this output (\(progress.succeededEpochs) epochs succeeded, \(progress.failedEpochs) failed), batches of \(config.batchSize) pairs with in-batch negatives, by 04-training."
        let name = options.outputDirectory.standardizedFileURL.lastPathComponent
        try AtomicFile.write(Data(card.markdown(for: subject, name: name).utf8), to: staged.appendingPathComponent("README.md"), durable: true)
    }

    private func writePlot() throws {
        guard let lossLog else { return }
        try lossLog.flush()
        try evalLog?.flush()
        try LossPlot.write(rows: try LossLog.read(lossCSVURL), evals: evalLog == nil ? [] : try EvalLog.read(evalCSVURL), to: lossPlotURL)
    }

    /// Under mpirun, the other ranks wait here while rank 0 evaluates and writes (model, checkpoint, plot: to S3
    /// this can take longer than a step), with the stall watchdog paused; then all go on together.
    private func waitForWriter() throws {
        guard !options.collective.isSingleProcess else { return }
        watchdog.beat(armed: false)
        try options.collective.barrier()
        watchdog.beat()
    }

    private func snapshot(lr: Double) -> ProgressSnapshot {
        let elapsed = Date().timeIntervalSince(runStart)
        let total = min(config.plannedSteps, config.maxSteps ?? .max)
        let left = Double(max(0, total - progress.executedSteps))
        return ProgressSnapshot(step: progress.executedSteps, totalSteps: total,
                                pairsPerSecond: elapsed > 0 ? Double(pairsThisRun) / elapsed : 0,
                                lossAverage: lossAverage.value, learningRate: lr,
                                secondsLeft: stepsThisRun > 0 ? left * elapsed / Double(stepsThisRun) : nil,
                                label: "cycle \(progress.cycle) chunk \(progress.chunk) epoch \(progress.epoch)")
    }

    private func note(_ text: String) { if options.showProgress { printer.message(text) } }

    /// The run's numbers, for the summary printed at the end; it names only the outputs that exist.
    public func summary() -> TrainingSummary {
        var outputs = [("train log", trainLogURL), ("loss.csv", lossCSVURL), ("eval.csv", evalCSVURL), ("loss plot", lossPlotURL),
                       ("model", modelURL)]
            .filter { FileManager.default.fileExists(atPath: $0.1.path) }.map { ($0.0, $0.1.path) }
        if let batchLog { outputs.append(("batch log", batchLog.url.path)) }
        if let checkpointer, (try? checkpointer.exists()) == true { outputs.append(("checkpoint", checkpointer.location)) }
        return TrainingSummary(succeededEpochs: progress.succeededEpochs, failedEpochs: progress.failedEpochs,
                               committedSteps: progress.committedSteps, executedSteps: progress.executedSteps,
                               seconds: Date().timeIntervalSince(runStart), pairs: pairsThisRun,
                               lastLossAverage: lossAverage.value, outputs: outputs,
                               bestEvaluation: evalLog == nil ? nil : (try? EvalLog.read(evalCSVURL))?.best)
    }
}
