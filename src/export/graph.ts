// The ONNX graph under construction: nodes in order, initializers, and the names of recorded
// values. Helpers make small int64/float constants and the Shape-of-a-tensor pieces that
// size-dependent arguments are built from.
import { attr, tensorProto, type Attribute, type Node, type TensorProto } from './onnx-proto.js';

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, TensorProto>();
  private readonly used = new Set<string>();
  private counter = 0;
  private readonly shapes = new Map<string, string>();

  /** A fresh value or node name from a hint ('backbone.layer1.0.conv1/Conv'). */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Appends a node; returns its output names (given, or fresh ones from the node's name). */
  node(opType: string, inputs: string[], opts: { attrs?: Attribute[]; outputs?: string[]; name?: string; nOut?: number } = {}): string[] {
    const name = this.fresh(opts.name ?? opType);
    const outputs = opts.outputs ?? Array.from({ length: opts.nOut ?? 1 }, (_, i) => this.fresh(`${name}:${i}`));
    this.nodes.push({ op_type: opType, input: inputs, output: outputs, name, attribute: opts.attrs ?? [] });
    return outputs;
  }

  /** One output of a node. */
  node1(opType: string, inputs: string[], attrs: Attribute[] = [], name?: string): string {
    return this.node(opType, inputs, { attrs, name })[0];
  }

  initializer(t: TensorProto): string {
    if (!this.initializers.has(t.name)) {
      this.used.add(t.name);
      this.initializers.set(t.name, t);
    }
    return t.name;
  }

  /** An int64 constant (1-D, or a scalar with `scalar`). */
  int64(values: number[], hint = 'const', scalar = false): string {
    const name = this.fresh(`${hint}_i64`);
    return this.initializer(tensorProto(name, 'int64', scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt))));
  }

  /** A constant of a float dtype (0-d for one value). */
  scalar(value: number, dtype: string, hint = 'scalar'): string {
    const name = this.fresh(`${hint}_${dtype}`);
    const data = dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`export: a scalar constant of dtype ${dtype} is not supported (only float32/float64 graphs)`);
    return this.initializer(tensorProto(name, dtype, [], data));
  }

  /** A float constant filled with `value`, of length n. */
  filled(value: number, n: number, hint: string): string {
    const name = this.fresh(hint);
    return this.initializer(tensorProto(name, 'float32', [n], new Float32Array(n).fill(value)));
  }

  /** Shape(v), made once per value. */
  shapeOf(v: string): string {
    let s = this.shapes.get(v);
    if (s === undefined) {
      s = this.node1('Shape', [v], [], `${v}/Shape`);
      this.shapes.set(v, s);
    }
    return s;
  }

  /** Shape(v)[start:end] as a 1-D int64 tensor. */
  dims(v: string, start: number, end: number): string {
    return this.node1('Slice', [this.shapeOf(v), this.int64([start], 'start'), this.int64([end], 'end'), this.int64([0], 'axis')], [], `${v}/dims${start}_${end}`);
  }

  /** A node's attribute list from plain values (undefined entries left out). */
  static attrs(values: Record<string, Parameters<typeof attr>[1] | undefined>): Attribute[] {
    return Object.entries(values).filter((e): e is [string, Parameters<typeof attr>[1]] => e[1] !== undefined).map(([k, v]) => attr(k, v));
  }
}
