/**
 * A plain MatMul graph, used by the benchmarks to measure the machine's fp32 GEMM throughput
 * through onnxruntime (2·n³ floating-point operations per run).
 */
import { GraphBuilder } from './onnx-graph.js';

/**
 * Build `c = a · b` for n×n float32 matrices. With `weights` given (n·n values, row-major), `b` is
 * an initializer and the graph has the single input `a`; otherwise both `a` and `b` are inputs.
 *
 * @returns the encoded ONNX model.
 */
export function buildMatMulModel(n: number, weights?: Float32Array): Uint8Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`matrix size must be a positive integer, got ${n}`);
  const g = new GraphBuilder('matmul');
  const a = g.input('a', [n, n]);
  const b = weights ? g.float('b', [n, n], weights) : g.input('b', [n, n]);
  g.op('MatMul', [a, b], {}, 'c');
  g.output('c', [n, n]);
  return g.encode({ producerVersion: 'bench', docString: `${n}x${n} float32 MatMul` });
}
