{
  "targets": [
    {
      "target_name": "segkit",
      "sources": ["native/runtime.cc", "native/ops.cc", "native/tensor.cc", "native/allocator.cc", "native/detection.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.mjs --field include)"
      ],
      "libraries": [
        "-L<!(node scripts/find-libtorch.mjs --field lib)",
        "-ltorch", "-ltorch_cpu", "-lc10",
        "<!(node scripts/build-native.mjs --rpath-flag)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/find-libtorch.mjs --field abi)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    }
  ]
}
