import Torch

/// The smallest end-to-end check that libtorch, autograd and the optimizer loop work from Swift:
/// a 2-layer MLP learns y = sin(3x) on x ∈ [−1, 1] with full-batch gradient descent with momentum.
public enum ToyDemo {
    /// Trains for `steps` and calls `report(step, loss)` every `every` steps; returns the final loss.
    @discardableResult
    public static func run(steps: Int = 300, hidden: Int = 64, learningRate: Double = 0.05, seed: UInt64 = 0,
                           every: Int = 50, report: (Int, Double) -> Void) throws -> Double {
        let g = Generator(seed: seed)
        let x = try (Tensor.rand([256, 1], generator: g) * 2 - 1)           // [256, 1]
        let y = try (x * 3).sin()                                           // [256, 1]
        let w1 = try (Tensor.randn([hidden, 1], generator: g) * 1.0).requiringGrad()                  // [h, 1]
        let b1 = try Tensor.zeros([hidden]).requiringGrad()                                             // [h]
        let w2 = try (Tensor.randn([1, hidden], generator: g) / Double(hidden).squareRoot()).requiringGrad() // [1, h]
        let b2 = try Tensor.zeros([1]).requiringGrad()                                                  // [1]
        let parameters = [w1, b1, w2, b2]
        let velocities = try parameters.map { try Tensor.zeros($0.shape) }
        var loss = Double.nan
        for step in 0 ... steps {
            let prediction = try x.linear(w1, bias: b1).tanh().linear(w2, bias: b2)  // [256, 1]
            let mse = try (prediction - y).pow(2).mean()
            loss = try mse.item()
            if step % every == 0 || step == steps { report(step, loss) }
            if step == steps { break }
            for p in parameters { try p.zeroGrad() }
            try mse.backward()
            try withNoGrad {
                for (p, v) in zip(parameters, velocities) {
                    try v.mul_(0.9)
                    try v.add_(p.grad!)
                    try p.add_(v, alpha: -learningRate)
                }
            }
        }
        return loss
    }
}
