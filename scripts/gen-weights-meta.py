"""Writes src/models/weights-meta.json: torchvision's descriptions of the pretrained weights segkit's
builders can load (URL, file name with its hash prefix, categories, preprocessing, parameter count,
reference metrics, recipe, which one is DEFAULT), read from torchvision's weight enums so nothing
is typed by hand.

Run from the repository root with Debian's torchvision 0.14:
    /usr/bin/python3 scripts/gen-weights-meta.py            # rewrites src/models/weights-meta.json
    /usr/bin/python3 scripts/gen-weights-meta.py --out F    # writes F instead (the drift test uses this)

Layout of the JSON file:
{
  "about": str, "torchvision": str,
  "categories": { "<set>": [str] },          # each category list once, referenced by its set name
  "builders": { "<builder>": {
    "enum": "ResNet50_Weights", "default": "IMAGENET1K_V2",
    "weightsBackbone": { "builder": "resnet50", "default": "IMAGENET1K_V1" },   # segmentation builders only
    "weights": { "<NAME>": {
      "url": str, "fileName": str, "hashPrefix": str,   # hashPrefix as torch.hub's HASH_REGEX reads it
      "categories": "<set>",
      "preprocessing": { "preset": "ImageClassification" | "SemanticSegmentation" | "ObjectDetection",
                         "resizeSize": [int] | null, "cropSize": [int] (classification only),
                         "interpolation": "bilinear", "mean": [float], "std": [float] },
      "numParams": int, "minSize": [int, int], "metrics": { "<dataset>": { "<metric>": float } },
      "recipe": str, "docs": str } } } }
"""
import argparse
import inspect
import json
import os
import re

import torch.hub
import torchvision
import torchvision.models as tvm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, 'src', 'models', 'weights-meta.json')

BUILDERS = [
    'resnet18', 'resnet34', 'resnet50', 'resnet101',
    'mobilenet_v2', 'mobilenet_v3_large',
    'fcn_resnet50', 'fcn_resnet101',
    'deeplabv3_resnet50', 'deeplabv3_resnet101', 'deeplabv3_mobilenet_v3_large',
    'lraspp_mobilenet_v3_large',
    'maskrcnn_resnet50_fpn', 'maskrcnn_resnet50_fpn_v2',
]

# the attributes each preset transform holds, in the order they are written
PRESET_FIELDS = {
    'ImageClassification': [('resize_size', 'resizeSize'), ('crop_size', 'cropSize')],
    'SemanticSegmentation': [('resize_size', 'resizeSize')],
}


def category_set(weight_name):
    """IMAGENET1K_V2 -> imagenet1k, COCO_WITH_VOC_LABELS_V1 -> coco_with_voc_labels."""
    return re.sub(r'_V\d+$', '', weight_name).lower()


def preprocessing(weight):
    t = weight.transforms()
    preset = type(t).__name__
    if preset == 'ObjectDetection':
        # the preset only scales to [0, 1]: the detector normalizes (ImageNet mean and std) and
        # resizes (bilinear) inside its own GeneralizedRCNNTransform
        return {'preset': preset, 'resizeSize': None, 'interpolation': 'bilinear', 'mean': [0.0, 0.0, 0.0], 'std': [1.0, 1.0, 1.0]}
    if preset not in PRESET_FIELDS:
        raise SystemExit(f'{weight}: unknown preset transform {preset}; teach gen-weights-meta.py its fields')
    out = {'preset': preset}
    for attr, key in PRESET_FIELDS[preset]:
        value = getattr(t, attr)
        out[key] = None if value is None else [int(v) for v in value]
    out['interpolation'] = t.interpolation.value
    out['mean'] = [float(v) for v in t.mean]
    out['std'] = [float(v) for v in t.std]
    return out


def backbone_default(builder):
    """The weights a segmentation builder loads into its backbone by default (its weights_backbone)."""
    param = inspect.signature(tvm.get_model_builder(builder)).parameters.get('weights_backbone')
    if param is None or param.default is None:
        return None
    enum = type(param.default)
    backbone = next(b for b in tvm.list_models() if tvm.get_model_weights(b) is enum)
    return {'builder': backbone, 'default': param.default.name}


def describe(builder, categories):
    enum = tvm.get_model_weights(builder)
    entry = {'enum': enum.__name__, 'default': enum.DEFAULT.name}
    backbone = backbone_default(builder)
    if backbone is not None:
        entry['weightsBackbone'] = backbone
    weights = {}
    for w in enum:
        file_name = os.path.basename(w.url)
        match = torch.hub.HASH_REGEX.search(file_name)
        if match is None or len(match.group(1)) < 8:
            raise SystemExit(f'{enum.__name__}.{w.name}: {file_name} carries no SHA-256 prefix of 8+ hex digits')
        cats = list(w.meta['categories'])
        key = category_set(w.name)
        if categories.setdefault(key, cats) != cats:
            raise SystemExit(f'{enum.__name__}.{w.name}: categories differ from other {key} weights; give them their own set name')
        weights[w.name] = {
            'url': w.url,
            'fileName': file_name,
            'hashPrefix': match.group(1),
            'categories': key,
            'preprocessing': preprocessing(w),
            'numParams': int(w.meta['num_params']),
            'minSize': [int(v) for v in w.meta['min_size']],
            'metrics': w.meta['_metrics'],
            'recipe': w.meta['recipe'],
            'docs': ' '.join(w.meta.get('_docs', '').split()),
        }
    entry['weights'] = weights
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=DEFAULT_OUT, help='file to write (default: src/models/weights-meta.json)')
    args = ap.parse_args()
    categories = {}
    builders = {b: describe(b, categories) for b in BUILDERS}
    doc = {
        'about': 'Generated by scripts/gen-weights-meta.py from torchvision\'s weight enums; do not edit by hand.',
        'torchvision': torchvision.__version__,
        'categories': categories,
        'builders': builders,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    # short number lists ([256], mean, std, minSize) on one line
    text = re.sub(r'\[\s+([-0-9.e+,\s]+?)\s+\]', lambda m: '[' + ' '.join(m.group(1).split()) + ']', text)
    tmp = f'{args.out}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text + '\n')
    os.replace(tmp, args.out)
    count = sum(len(b['weights']) for b in builders.values())
    print(f'wrote {args.out}: {len(builders)} builders, {count} weights, torchvision {torchvision.__version__}')


if __name__ == '__main__':
    main()
