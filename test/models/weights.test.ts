// Pretrained weight descriptions: src/models/weights-meta.json must be exactly what
// scripts/gen-weights-meta.py extracts from torchvision (re-run here when Debian's torchvision is
// installed), and the typed API must read it right: DEFAULT resolved, categories shared,
// preprocessing as torchvision's transforms, errors that list the valid names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { hashPrefixOf } from '../../src/io/download.js';
import {
  defaultBackboneWeights,
  listWeights,
  WEIGHTS_BUILDERS,
  weightsInfo,
  weightsName,
  weightsNames,
} from '../../src/models/weights.js';
import { repoRoot } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const committed = join(repoRoot, 'src', 'models', 'weights-meta.json');

test('the committed table is what the generator extracts from torchvision', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-weights-meta-'));
  try {
    const out = join(dir, 'weights-meta.json');
    const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'scripts', 'gen-weights-meta.py'), '--out', out], { encoding: 'utf8' });
    if (r.error !== undefined || /No module named '(torch|torchvision)'/.test(r.stderr)) {
      t.skip(`cannot re-run the extraction: /usr/bin/python3 with torchvision is missing (apt install python3-torchvision): ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const fresh = readFileSync(out, 'utf8');
    const old = readFileSync(committed, 'utf8');
    if (fresh !== old) {
      const version = (s: string) => (JSON.parse(s) as { torchvision: string }).torchvision;
      const [a, b] = [old.split('\n'), fresh.split('\n')];
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(
        `src/models/weights-meta.json (torchvision ${version(old)}) differs from what torchvision ${version(fresh)} gives, first at line ${line + 1}:\n` +
          `  committed: ${a[line]?.trim()}\n  extracted: ${b[line]?.trim()}\n` +
          'regenerate it with /usr/bin/python3 scripts/gen-weights-meta.py and review the diff',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the table covers exactly the typed builder list', () => {
  const meta = JSON.parse(readFileSync(committed, 'utf8')) as { builders: Record<string, unknown> };
  assert.deepEqual(Object.keys(meta.builders), [...WEIGHTS_BUILDERS]);
});

test('every entry: URL, file name and hash prefix agree; categories and preprocessing are complete', () => {
  for (const builder of WEIGHTS_BUILDERS) {
    const all = listWeights(builder);
    assert.ok(all.length >= 1, builder);
    assert.equal(all.filter((w) => w.isDefault).length, 1, `${builder}: one DEFAULT`);
    for (const w of all) {
      const where = `${builder} ${w.name}`;
      assert.ok(w.url.startsWith('https://download.pytorch.org/models/'), where);
      assert.equal(w.fileName, basename(new URL(w.url).pathname), where);
      assert.equal(hashPrefixOf(w.fileName), w.hashPrefix, `${where}: segkit reads the hash prefix as torch.hub does`);
      assert.equal(w.numClasses, w.categories.length, where);
      assert.ok(w.numParams > 1e6, where);
      assert.equal(w.preprocessing.mean.length, 3, where);
      assert.equal(w.preprocessing.std.length, 3, where);
      assert.ok(Object.keys(w.metrics).length === 1, where);
    }
  }
});

test('resnet50: DEFAULT is IMAGENET1K_V2, with torchvision\'s transforms and numbers', () => {
  assert.deepEqual(weightsNames('resnet50'), ['DEFAULT', 'IMAGENET1K_V1', 'IMAGENET1K_V2']);
  const d = weightsInfo('resnet50', 'DEFAULT');
  assert.equal(d.name, 'IMAGENET1K_V2');
  assert.equal(d.isDefault, true);
  assert.equal(d.enumName, 'ResNet50_Weights');
  assert.equal(d.url, 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth');
  assert.equal(d.hashPrefix, '11ad3fa6');
  assert.equal(d.numParams, 25557032);
  assert.deepEqual(d.metrics, { 'ImageNet-1K': { 'acc@1': 80.858, 'acc@5': 95.434 } });
  assert.deepEqual(d.preprocessing, {
    preset: 'ImageClassification',
    resizeSize: [232],
    cropSize: [224],
    interpolation: 'bilinear',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  assert.equal(d.numClasses, 1000);
  assert.deepEqual(d.categories.slice(0, 2), ['tench', 'goldfish']);
  const v1 = weightsInfo('resnet50', 'ResNet50_Weights.IMAGENET1K_V1');
  assert.equal(v1.isDefault, false);
  assert.deepEqual(v1.preprocessing.resizeSize, [256]);
  assert.equal(v1.categories, d.categories, 'ImageNet categories are stored once');
});

test('segmentation weights: VOC categories, resize to 520 without crop, miou and pixel accuracy', () => {
  for (const builder of ['fcn_resnet50', 'fcn_resnet101', 'deeplabv3_resnet50', 'deeplabv3_resnet101', 'deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large']) {
    assert.deepEqual(weightsNames(builder), ['DEFAULT', 'COCO_WITH_VOC_LABELS_V1'], builder);
    const w = weightsInfo(builder, 'COCO_WITH_VOC_LABELS_V1');
    assert.equal(w.numClasses, 21);
    assert.equal(w.categories[0], '__background__');
    assert.equal(w.preprocessing.preset, 'SemanticSegmentation');
    assert.deepEqual(w.preprocessing.resizeSize, [520]);
    assert.equal(w.preprocessing.cropSize, undefined);
    assert.deepEqual(Object.keys(w.metrics['COCO-val2017-VOC-labels']), ['miou', 'pixel_acc']);
  }
  assert.equal(weightsInfo('deeplabv3_resnet101', 'DEFAULT').fileName, 'deeplabv3_resnet101_coco-586e9e4e.pth');
  assert.deepEqual(defaultBackboneWeights('deeplabv3_resnet101'), { builder: 'resnet101', name: 'IMAGENET1K_V1' });
  assert.deepEqual(defaultBackboneWeights('lraspp_mobilenet_v3_large'), { builder: 'mobilenet_v3_large', name: 'IMAGENET1K_V1' });
  assert.equal(defaultBackboneWeights('resnet50'), undefined);
});

test('Mask R-CNN weights: COCO categories (91 with the background), box and mask mAP, scaling to [0, 1] only', () => {
  const v1 = weightsInfo('maskrcnn_resnet50_fpn', 'DEFAULT');
  assert.equal(v1.name, 'COCO_V1');
  assert.equal(v1.enumName, 'MaskRCNN_ResNet50_FPN_Weights');
  assert.equal(v1.url, 'https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
  assert.equal(v1.hashPrefix, 'bf2d0c1e');
  assert.equal(v1.numClasses, 91);
  assert.deepEqual(v1.categories.slice(0, 3), ['__background__', 'person', 'bicycle']);
  assert.deepEqual(v1.metrics, { 'COCO-val2017': { box_map: 37.9, mask_map: 34.6 } });
  assert.deepEqual(v1.preprocessing, { preset: 'ObjectDetection', resizeSize: null, interpolation: 'bilinear', mean: [0, 0, 0], std: [1, 1, 1] });
  const v2 = weightsInfo('maskrcnn_resnet50_fpn_v2', 'MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1');
  assert.equal(v2.fileName, 'maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth');
  assert.equal(v2.numParams, 46359409);
  assert.equal(v2.categories, v1.categories, 'COCO categories are stored once');
  // torchvision's weights_backbone defaults: ImageNet for v1, none for v2
  assert.deepEqual(defaultBackboneWeights('maskrcnn_resnet50_fpn'), { builder: 'resnet50', name: 'IMAGENET1K_V1' });
  assert.equal(defaultBackboneWeights('maskrcnn_resnet50_fpn_v2'), undefined);
});

test('V2 weights where torchvision 0.14 has them, V1 only elsewhere', () => {
  const names = (b: string) => listWeights(b).map((w) => w.name);
  for (const b of ['resnet18', 'resnet34']) assert.deepEqual(names(b), ['IMAGENET1K_V1']);
  for (const b of ['resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large']) {
    assert.deepEqual(names(b), ['IMAGENET1K_V1', 'IMAGENET1K_V2']);
    assert.equal(weightsName(b, 'DEFAULT'), 'IMAGENET1K_V2');
  }
});

test('unknown names and builders: errors list what is valid', () => {
  assert.throws(() => weightsInfo('resnet50', 'IMAGENET1K_V3'), /resnet50 has no weights named "IMAGENET1K_V3"; valid names: DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2/);
  assert.throws(() => weightsInfo('resnet50', 'imagenet1k_v1'), /valid names/, 'names are case-sensitive, as in torchvision');
  assert.throws(() => weightsInfo('FCN_ResNet50_Weights', 'DEFAULT'), /no pretrained weights are known for builder "FCN_ResNet50_Weights"; builders with weights: resnet18, .*lraspp_mobilenet_v3_large/);
  assert.equal(weightsName('resnet50', 'MobileNet_V2_Weights.IMAGENET1K_V1'), undefined, 'another enum\'s qualified name is not resnet50\'s');
});
