// sketchc's native matmul: a Node-API addon that runs single-precision GEMMs through a CBLAS
// library (OpenBLAS on Debian) directly on the memory of TF.js's wasm backend, without copies.
//
// The BLAS library is opened at load time with dlopen, so the build needs only a C++ compiler and
// Node's headers; a machine without OpenBLAS still builds the addon, and loading it then reports
// why. Exports:
//   info() -> { library, config, core, threads }      what was opened (throws if nothing was)
//   gemm(memory, batch, m, n, k, transA, transB,
//        aOffset, aStride, bOffset, bStride, cOffset,
//        biasOffset, relu)                              C[i] = op(A[i]) op(B[i]) (+ bias) (relu)
// Offsets and strides are in floats from the start of `memory` (an ArrayBuffer); a stride of 0
// broadcasts one matrix over the batch; biasOffset < 0 means no bias.

#include <dlfcn.h>
#include <node_api.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

enum CblasOrder { CblasRowMajor = 101 };
enum CblasTranspose { CblasNoTrans = 111, CblasTrans = 112 };

using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
using ConfigFn = char* (*)();
using ThreadsFn = int (*)();

struct Blas {
  void* handle = nullptr;
  SgemmFn sgemm = nullptr;
  ConfigFn config = nullptr;
  ConfigFn corename = nullptr;
  ThreadsFn threads = nullptr;
  std::string library;
  std::string error;
};

Blas blas;

// Opens the first library of the list that exports cblas_sgemm. SKETCHC_BLAS names one
// explicitly; otherwise only OpenBLAS is accepted (the reference BLAS is slower than wasm).
void OpenBlas() {
  const char* chosen = std::getenv("SKETCHC_BLAS");
  const char* defaults[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"};
  std::string tried;
  auto attempt = [&](const char* name, bool requireOpenblas) {
    void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* reason = dlerror();
      tried += std::string(tried.empty() ? "" : "; ") + (reason ? reason : name);
      return false;
    }
    auto sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
    auto config = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_config"));
    if (sgemm == nullptr || (requireOpenblas && config == nullptr)) {
      tried += std::string(tried.empty() ? "" : "; ") + name +
               (sgemm == nullptr ? ": no cblas_sgemm" : ": not OpenBLAS");
      dlclose(handle);
      return false;
    }
    blas.handle = handle;
    blas.sgemm = sgemm;
    blas.config = config;
    blas.corename = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_corename"));
    blas.threads = reinterpret_cast<ThreadsFn>(dlsym(handle, "openblas_get_num_threads"));
    blas.library = name;
    return true;
  };
  if (chosen != nullptr && chosen[0] != '\0') {
    if (!attempt(chosen, false)) blas.error = "SKETCHC_BLAS=" + std::string(chosen) + ": " + tried;
    return;
  }
  for (const char* name : defaults) {
    if (attempt(name, true)) return;
  }
  blas.error = "no OpenBLAS library found (" + tried + ")";
}

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

bool SetString(napi_env env, napi_value object, const char* key, const std::string& value) {
  napi_value v;
  return napi_create_string_utf8(env, value.c_str(), value.size(), &v) == napi_ok &&
         napi_set_named_property(env, object, key, v) == napi_ok;
}

napi_value Info(napi_env env, napi_callback_info) {
  if (blas.sgemm == nullptr) return Throw(env, blas.error);
  napi_value result;
  napi_create_object(env, &result);
  SetString(env, result, "library", blas.library);
  SetString(env, result, "config", blas.config ? blas.config() : "");
  SetString(env, result, "core", blas.corename ? blas.corename() : "");
  napi_value threads;
  napi_create_int32(env, blas.threads ? blas.threads() : 0, &threads);
  napi_set_named_property(env, result, "threads", threads);
  return result;
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  if (blas.sgemm == nullptr) return Throw(env, blas.error);
  size_t argc = 14;
  napi_value args[14];
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) != napi_ok || argc != 14)
    return Throw(env, "gemm: expected 14 arguments");
  void* data = nullptr;
  size_t bytes = 0;
  bool isArrayBuffer = false;
  napi_is_arraybuffer(env, args[0], &isArrayBuffer);
  if (!isArrayBuffer || napi_get_arraybuffer_info(env, args[0], &data, &bytes) != napi_ok)
    return Throw(env, "gemm: the first argument must be an ArrayBuffer");
  int64_t v[13];
  for (int i = 0; i < 13; i++) {
    if (napi_get_value_int64(env, args[i + 1], &v[i]) != napi_ok)
      return Throw(env, "gemm: arguments 2 to 14 must be numbers");
  }
  const int64_t batch = v[0], m = v[1], n = v[2], k = v[3];
  const bool transA = v[4] != 0, transB = v[5] != 0;
  const int64_t aOffset = v[6], aStride = v[7], bOffset = v[8], bStride = v[9], cOffset = v[10];
  const int64_t biasOffset = v[11];
  const bool relu = v[12] != 0;
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  auto inside = [&](int64_t offset, int64_t stride, int64_t size) {
    return offset >= 0 && stride >= 0 && size >= 0 &&
           offset + (batch - 1) * stride + size <= floats;
  };
  if (batch < 1 || m < 0 || n < 0 || k < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX ||
      !inside(aOffset, aStride, m * k) || !inside(bOffset, bStride, k * n) ||
      !inside(cOffset, m * n, m * n) || (biasOffset >= 0 && biasOffset + n > floats))
    return Throw(env, "gemm: shapes or offsets outside the buffer");
  float* base = static_cast<float*>(data);
  const int lda = static_cast<int>(transA ? m : k);
  const int ldb = static_cast<int>(transB ? k : n);
  for (int64_t i = 0; i < batch; i++) {
    float* c = base + cOffset + i * m * n;
    float beta = 0.0f;
    if (biasOffset >= 0) {
      const float* bias = base + biasOffset;
      for (int64_t r = 0; r < m; r++) std::memcpy(c + r * n, bias, n * sizeof(float));
      beta = 1.0f;
    }
    if (k == 0) {
      if (beta == 0.0f) std::memset(c, 0, m * n * sizeof(float));
    } else if (m > 0 && n > 0) {
      blas.sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                 transB ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                 static_cast<int>(k), 1.0f, base + aOffset + i * aStride, lda,
                 base + bOffset + i * bStride, ldb, beta, c, static_cast<int>(n));
    }
    if (relu) {
      for (int64_t j = 0; j < m * n; j++) c[j] = c[j] < 0.0f ? 0.0f : c[j];  // keeps NaN
    }
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  OpenBlas();
  napi_property_descriptor properties[] = {
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 2, properties);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
