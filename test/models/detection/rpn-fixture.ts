// The RPN fixture (test/fixtures/detection/rpn.safetensors, from gen_rpn.py) for the anchor, head
// and proposal tests.
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { fixture } from '../../paths.js';

export const rpnFixture = readSafetensors(fixture('detection', 'rpn.safetensors'));

/** A fixture tensor by key (the caller disposes it). */
export function loadRpn(key: string): torch.Tensor {
  const raw = rpnFixture.tensors.get(key);
  assert.ok(raw, `rpn fixture has no '${key}' (regenerate it with gen_rpn.py)`);
  return torch.fromRaw(raw);
}
