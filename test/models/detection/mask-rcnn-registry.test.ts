// Mask R-CNN by reference name (models.create): both torchvision builders are registered as
// instance segmentation models; without weights the backbone trains whole with BatchNorm2d, with
// an ImageNet ResNet-50 file as weightsBackbone it goes into backbone.body with FrozenBatchNorm2d
// (torchvision's is_trained); options a detector does not take are errors; a COCO weight name
// not in the cache says which file to put where.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { readWeights } from '../../../src/io/index.js';
import { create, listModels, modelEntry, type LoadReport, type MaskRCNN } from '../../../src/models/index.js';
import { checkLeaksEachTest } from '../../leak.js';
import { generated } from '../generated.js';

checkLeaksEachTest();
torch.setNumThreads(1);

const fixtures = generated(['models', 'gen_torchvision.py'], ['resnet50']);

let root: string;
let saved: string | undefined;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'segkit-maskrcnn-registry-'));
  saved = process.env.TORCH_HOME;
});
after(() => {
  if (saved === undefined) delete process.env.TORCH_HOME;
  else process.env.TORCH_HOME = saved;
  rmSync(root, { recursive: true, force: true });
});

test('both builders are instance segmentation models whose backbone weights go into backbone.body', () => {
  assert.deepEqual(listModels('instance').map((e) => e.name), ['maskrcnn_resnet50_fpn', 'maskrcnn_resnet50_fpn_v2', 'maskrcnn_resnet_fpn']);
  assert.equal(modelEntry('maskrcnn_resnet50_fpn').backbone, 'backbone.body');
  assert.equal(modelEntry('maskrcnn_resnet50_fpn_v2').backboneName, 'resnet50');
});

test('without weights: BatchNorm2d and every stage trains; the options reach the model', () => {
  const model = create('maskrcnn_resnet50_fpn', { numClasses: 3, minSize: 64, maxSize: 96, boxDetectionsPerImg: 7 }) as MaskRCNN;
  const sd = model.stateDict();
  assert.ok(sd.has('backbone.body.bn1.num_batches_tracked'), 'BatchNorm2d in the ResNet');
  assert.ok(model.namedParameters().every(([, p]) => p.requiresGrad), 'every parameter trains');
  assert.deepEqual(sd.get('roi_heads.box_predictor.cls_score.weight')!.shape, [3, 1024]);
  assert.deepEqual(model.transform.minSize, [64]);
  assert.equal(model.roi_heads.detectionsPerImg, 7);
  model.dispose();
});

test('weightsBackbone: an ImageNet ResNet-50 file loads into backbone.body, which gets FrozenBatchNorm2d and 3 trainable stages', () => {
  const reports: LoadReport[] = [];
  const file = join(fixtures, 'resnet50.pth');
  const model = create('maskrcnn_resnet50_fpn', { numClasses: 3, weightsBackbone: file, onLoad: (r) => reports.push(r) }) as MaskRCNN;
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0].skipped.map((s) => s.key), ['fc.weight', 'fc.bias']);
  assert.deepEqual(reports[0].missing, []);
  const sd = model.stateDict();
  assert.ok(!sd.has('backbone.body.bn1.num_batches_tracked'), 'FrozenBatchNorm2d in the ResNet');
  const want = readWeights(file).get('layer3.0.conv1.weight')!;
  torch.tidy(() => assert.equal(sd.get('backbone.body.layer3.0.conv1.weight')!.sub(torch.fromRaw(want)).abs().max().item(), 0));
  const frozen = model.namedParameters().filter(([, p]) => !p.requiresGrad).map(([k]) => k.split('.').slice(0, 3).join('.'));
  assert.deepEqual([...new Set(frozen)], ['backbone.body.conv1', 'backbone.body.layer1']);
  model.dispose();
});

test('options a detector does not take are errors naming them', () => {
  assert.throws(() => create('maskrcnn_resnet50_fpn', { auxLoss: true }), /unknown option auxLoss/);
  assert.throws(() => create('maskrcnn_resnet50_fpn_v2', { inChannels: 1 }), /unknown option inChannels/);
  assert.throws(() => create('maskrcnn_resnet50_fpn', { box_score_thresh: 0.5 }), /box_score_thresh → boxScoreThresh/);
});

test('a COCO weight name not in the cache says which file to put where', () => {
  process.env.TORCH_HOME = join(root, 'empty');
  assert.throws(() => create('maskrcnn_resnet50_fpn', { weights: 'DEFAULT' }), /maskrcnn_resnet50_fpn weights COCO_V1 are not in the cache \(.*maskrcnn_resnet50_fpn_coco-bf2d0c1e\.pth\)/);
  assert.throws(() => create('maskrcnn_resnet50_fpn_v2', { weights: 'COCO_V1' }), /maskrcnn_resnet50_fpn_v2_coco-73cbd019\.pth/);
});

test('maskrcnn_resnet_fpn: torchvision\'s parts and names on a chosen ResNet with the widths given; bad options refused before building', () => {
  const model = create('maskrcnn_resnet_fpn', { numClasses: 4, backbone: 'resnet34', fpnChannels: 32, boxHeadSize: 48, maskHeadChannels: 24, maskHeadLayers: 2, anchorSizes: [8, 16, 32, 64, 128] }) as MaskRCNN;
  try {
    const sd = model.stateDict();
    assert.deepEqual(sd.get('backbone.fpn.inner_blocks.3.0.weight')!.shape, [32, 512, 1, 1], 'FPN of 32 channels on layer4 (512 in ResNet-34)');
    assert.ok(sd.has('backbone.body.layer3.5.conv1.weight'), 'ResNet-34 has six blocks in layer3');
    assert.deepEqual(sd.get('roi_heads.box_head.fc6.weight')!.shape, [48, 32 * 7 * 7]);
    assert.deepEqual(sd.get('roi_heads.box_predictor.cls_score.weight')!.shape, [4, 48]);
    assert.deepEqual(sd.get('roi_heads.mask_head.1.0.weight')!.shape, [24, 24, 3, 3]);
    assert.ok(!sd.has('roi_heads.mask_head.2.0.weight'), 'two mask-head convs');
    assert.deepEqual(sd.get('roi_heads.mask_predictor.mask_fcn_logits.weight')!.shape, [4, 24, 1, 1]);
    assert.deepEqual(model.rpn.anchorGenerator.sizes, [[8], [16], [32], [64], [128]]);
    assert.ok(model.namedParameters().every(([, p]) => p.requiresGrad), 'without pretrained weights every layer trains');
  } finally {
    model.dispose();
  }
  assert.throws(() => create('maskrcnn_resnet_fpn', { numClasses: 4, backbone: 'resnet19' }), /backbone must be one of resnet18, resnet34, resnet50, resnet101, resnet152, got 'resnet19'/);
  assert.throws(() => create('maskrcnn_resnet_fpn', { numClasses: 4, anchorSizes: [16, 32] }), /anchorSizes takes 5 positive sizes, one per FPN level/);
  assert.throws(() => create('maskrcnn_resnet_fpn', { numClasses: 4, fpnChannels: 0 }), /fpnChannels must be a positive whole number/);
});
