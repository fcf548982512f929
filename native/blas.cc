// sketchc's native matmul: a Node-API addon that runs single-precision GEMMs through a CBLAS
// library (OpenBLAS on Debian) directly on the memory of TF.js's wasm backend, without copies.
//
// The BLAS library is opened at load time with dlopen, so the build needs only a C++ compiler and
// Node's headers; a machine without OpenBLAS still builds the addon, and loading it then reports
// why. Exports:
//   info() -> { library, config, core, threads, kernelThreads }
//                                                    what was opened (throws if nothing was)
//   setThreads(n) -> threads                           OpenBLAS's thread count; returns the count
//                                                    in effect (unchanged where the library
//                                                    cannot set it)
//   setKernelThreads(n) -> threads                     sketchc's own threads (at most the cores)
//   gemm(memory, batch, m, n, k, transA, transB,
//        aOffset, aStride, bOffset, bStride, cOffset,
//        biasOffset, relu)                              C[i] = op(A[i]) op(B[i]) (+ bias) (relu)
//   layerNorm(memory, n, d, epsilon, relu, x, gain, bias, out, xHat, rstd)
//   layerNormGrad(memory, n, d, relu, dy, xHat, rstd, gain, out, dx, dGain, dBias)
//                                                    LayerNorm over rows (+ ReLU), and its gradient
//   crossProduct(a, y, m, u, b, out)                out[m x b] = a[m x u] y[b x u]^T, in float64
//                                                    (abduction's cross terms, memory.ts)
//   im2col(memory, N, H, W, C, KH, KW, sH, sW, dH, dW, padTop, padLeft, OH, OW, x, cols)
//                                 a convolution's input patches as rows (NHWC), for a GEMM
//   maxPoolGrad(memory, N, H, W, C, OH, OW, KH, KW, sH, sW, padTop, padLeft, x, dy, dx)
//                                 a max-pool's gradient (NHWC): dy to each window's first maximum
//   mixArgs(values, z, args, T, S, B, L, LINES, A, i, l, from, to)
//   mixArgsGrad(values, z, dArgs, dValues, dz, T, S, B, L, A, i, l, from, to)
//                                 the fused straight-line interpreter's argument mixing (Fig. 3)
//                                 for line l and argument i of every task, and its gradient
// Offsets and strides are in floats from the start of `memory` (an ArrayBuffer); a stride of 0
// broadcasts one matrix over the batch; biasOffset < 0 means no bias. sketchc's own threads
// (setKernelThreads) cut a large GEMM into slices of rows or columns, one single-threaded sgemm
// each: never the inner sum, but OpenBLAS rounds a slice's entries in other bits than the whole
// product's. The loops of the other kernels split fixed blocks between the same threads, and
// their column sums add the blocks in a fixed order, so those give the same bits on any count.

#include <dlfcn.h>
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

enum CblasOrder { CblasRowMajor = 101 };
enum CblasTranspose { CblasNoTrans = 111, CblasTrans = 112 };

using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
using DgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, double alpha,
                         const double* a, int lda, const double* b, int ldb, double beta,
                         double* c, int ldc);
using ConfigFn = char* (*)();
using ThreadsFn = int (*)();
using SetThreadsFn = void (*)(int);

struct Blas {
  void* handle = nullptr;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;  // optional: abduction's float64 product falls back to JavaScript
  ConfigFn config = nullptr;
  ConfigFn corename = nullptr;
  ThreadsFn threads = nullptr;
  SetThreadsFn setThreads = nullptr;
  std::string library;
  std::string error;
};

Blas blas;

// Rows per block of the LayerNorm kernels: the unit of work of a thread and of the column sums.
constexpr int64_t kRowBlock = 256;

// sketchc's own threads for its kernels' loops and for splitting GEMMs (setKernelThreads); not
// OpenBLAS's, which stays at one thread unless asked (docs/backends.md, "Threads").
std::atomic<int> kernelThreads{1};

// A GEMM of fewer multiply-adds than this runs on one thread (a thread costs tens of microseconds).
constexpr int64_t kGemmSplitWork = int64_t{1} << 22;
// Slices of a split GEMM start at multiples of this many rows or columns.
constexpr int64_t kGemmAlign = 16;

// The threads in effect; setKernelThreads caps them at the cores once (asking for the core count
// reads a file on Linux, too slow for every kernel call).
int WorkerCount() { return kernelThreads.load(); }

// Runs body(firstBlock, endBlock) over `blocks` blocks of rows, split between the workers.
template <typename Body>
void ParallelBlocks(int64_t blocks, int64_t rowsTotal, int64_t width, Body body) {
  int workers = WorkerCount();
  // Below about 64k floats a thread costs more than it saves.
  if (rowsTotal * width < 65536) workers = 1;
  if (workers > blocks) workers = static_cast<int>(blocks);
  if (workers <= 1) {
    body(0, blocks);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t per = (blocks + workers - 1) / workers;
  for (int w = 1; w < workers; w++) {
    const int64_t first = w * per, end = std::min(blocks, first + per);
    if (first < end) pool.emplace_back(body, first, end);
  }
  body(0, std::min(blocks, per));
  for (auto& t : pool) t.join();
}

// Runs body(0 .. parts - 1), part 0 on the calling thread and each other part on a thread of its own.
template <typename Body>
void ParallelParts(int parts, Body body) {
  std::vector<std::thread> pool;
  for (int w = 1; w < parts; w++) pool.emplace_back(body, w);
  body(0);
  for (auto& t : pool) t.join();
}

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
    blas.dgemm = reinterpret_cast<DgemmFn>(dlsym(handle, "cblas_dgemm"));
    blas.config = config;
    blas.corename = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_corename"));
    blas.threads = reinterpret_cast<ThreadsFn>(dlsym(handle, "openblas_get_num_threads"));
    blas.setThreads =
        reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
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
  napi_value own;
  napi_create_int32(env, WorkerCount(), &own);
  napi_set_named_property(env, result, "kernelThreads", own);
  return result;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  if (blas.sgemm == nullptr) return Throw(env, blas.error);
  size_t argc = 1;
  napi_value arg;
  double n = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc != 1 ||
      napi_get_value_double(env, arg, &n) != napi_ok || !(n >= 1) || n != std::floor(n))
    return Throw(env, "setThreads: expected a positive integer");
  if (blas.setThreads != nullptr) blas.setThreads(static_cast<int>(std::min(n, 1024.0)));
  napi_value result;
  napi_create_int32(env, blas.threads ? blas.threads() : 0, &result);
  return result;
}

napi_value SetKernelThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  double n = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc != 1 ||
      napi_get_value_double(env, arg, &n) != napi_ok || !(n >= 1) || n != std::floor(n))
    return Throw(env, "setKernelThreads: expected a positive integer");
  int threads = static_cast<int>(std::min(n, 1024.0));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (cores > 0 && threads > cores) threads = cores;
  kernelThreads.store(threads);
  napi_value result;
  napi_create_int32(env, WorkerCount(), &result);
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
  // C[r0:r1, c0:c1] of product i: its own slice of A's rows or B's columns, one sgemm.
  auto part = [&](int64_t i, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    float* c = base + cOffset + i * m * n;
    const float* a = base + aOffset + i * aStride + (transA ? r0 : r0 * k);
    const float* b = base + bOffset + i * bStride + (transB ? c0 * k : c0);
    float beta = 0.0f;
    if (biasOffset >= 0) {
      const float* bias = base + biasOffset + c0;
      for (int64_t r = r0; r < r1; r++) std::memcpy(c + r * n + c0, bias, (c1 - c0) * sizeof(float));
      beta = 1.0f;
    }
    if (k == 0) {
      if (beta == 0.0f)
        for (int64_t r = r0; r < r1; r++) std::memset(c + r * n + c0, 0, (c1 - c0) * sizeof(float));
    } else if (r1 > r0 && c1 > c0) {
      blas.sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                 transB ? CblasTrans : CblasNoTrans, static_cast<int>(r1 - r0),
                 static_cast<int>(c1 - c0), static_cast<int>(k), 1.0f, a, lda, b, ldb, beta,
                 c + r0 * n + c0, static_cast<int>(n));
    }
    if (relu) {
      for (int64_t r = r0; r < r1; r++) {
        float* row = c + r * n;
        for (int64_t j = c0; j < c1; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j];  // keeps NaN
      }
    }
  };
  // sketchc's own threads split the products (never k: each entry is one thread's sum) when
  // OpenBLAS runs one thread itself and the work is worth a thread.
  int workers = WorkerCount();
  if ((blas.threads != nullptr && blas.threads() > 1) || batch * m * n * k < kGemmSplitWork)
    workers = 1;
  if (workers <= 1) {
    for (int64_t i = 0; i < batch; i++) part(i, 0, m, 0, n);
  } else if (batch >= workers) {
    ParallelParts(workers, [&](int w) {
      const int64_t per = (batch + workers - 1) / workers;
      for (int64_t i = w * per; i < std::min(batch, (w + 1) * per); i++) part(i, 0, m, 0, n);
    });
  } else {
    // Each product in `workers` slices of rows (or of columns, when they are fewer), cut at
    // multiples of kGemmAlign so that every slice keeps whole register tiles.
    const bool byRows = m >= n;
    const int64_t extent = byRows ? m : n;
    const int64_t per =
        ((extent + workers - 1) / workers + kGemmAlign - 1) / kGemmAlign * kGemmAlign;
    const int parts = static_cast<int>((extent + per - 1) / per);
    for (int64_t i = 0; i < batch; i++) {
      ParallelParts(parts, [&](int w) {
        const int64_t from = std::min(extent, w * per), to = std::min(extent, (w + 1) * per);
        if (from >= to) return;
        if (byRows)
          part(i, from, to, 0, n);
        else
          part(i, 0, m, from, to);
      });
    }
  }
  return nullptr;
}


bool ReadArgs(napi_env env, napi_callback_info info, size_t count, void** data, size_t* bytes,
              double* values) {
  size_t argc = count;
  std::vector<napi_value> args(count);
  if (napi_get_cb_info(env, info, &argc, args.data(), nullptr, nullptr) != napi_ok ||
      argc != count) {
    Throw(env, "expected " + std::to_string(count) + " arguments");
    return false;
  }
  bool isArrayBuffer = false;
  napi_is_arraybuffer(env, args[0], &isArrayBuffer);
  if (!isArrayBuffer || napi_get_arraybuffer_info(env, args[0], data, bytes) != napi_ok) {
    Throw(env, "the first argument must be an ArrayBuffer");
    return false;
  }
  for (size_t i = 1; i < count; i++) {
    if (napi_get_value_double(env, args[i], &values[i - 1]) != napi_ok) {
      Throw(env, "arguments after the first must be numbers");
      return false;
    }
  }
  return true;
}

// ReadArgs for kernels whose numbers are all integers (shapes and offsets): a[0 .. N-1].
template <size_t N>
bool ReadIntArgs(napi_env env, napi_callback_info info, void** data, size_t* bytes,
                 int64_t (&a)[N]) {
  double v[N];
  if (!ReadArgs(env, info, N + 1, data, bytes, v)) return false;
  for (size_t i = 0; i < N; i++) a[i] = static_cast<int64_t>(v[i]);
  return true;
}

// Whether [offset, offset + size) lies inside a buffer of `floats` floats.
bool Inside(int64_t offset, int64_t size, int64_t floats) {
  return offset >= 0 && size >= 0 && offset + size <= floats;
}

napi_value LayerNorm(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t bytes = 0;
  double v[10];
  if (!ReadArgs(env, info, 11, &data, &bytes, v)) return nullptr;
  const int64_t n = static_cast<int64_t>(v[0]), d = static_cast<int64_t>(v[1]);
  const float epsilon = static_cast<float>(v[2]);
  const bool relu = v[3] != 0;
  const int64_t x = v[4], gain = v[5], bias = v[6], out = v[7], xHat = v[8], rstd = v[9];
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  if (n < 0 || d < 1 || !Inside(x, n * d, floats) || !Inside(gain, d, floats) ||
      !Inside(bias, d, floats) || !Inside(out, n * d, floats) || !Inside(xHat, n * d, floats) ||
      !Inside(rstd, n, floats))
    return Throw(env, "layerNorm: shapes or offsets outside the buffer");
  float* m = static_cast<float*>(data);
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  ParallelBlocks(blocks, n, d, [&](int64_t first, int64_t end) {
    for (int64_t r = first * kRowBlock; r < std::min(n, end * kRowBlock); r++) {
      const float* xr = m + x + r * d;
      float mean = 0.0f;
      for (int64_t j = 0; j < d; j++) mean += xr[j];
      mean /= static_cast<float>(d);
      float var = 0.0f;
      for (int64_t j = 0; j < d; j++) {
        const float c = xr[j] - mean;
        var += c * c;
      }
      var /= static_cast<float>(d);
      const float inv = 1.0f / std::sqrt(var + epsilon);
      m[rstd + r] = inv;
      float* hr = m + xHat + r * d;
      float* orow = m + out + r * d;
      for (int64_t j = 0; j < d; j++) {
        const float h = (xr[j] - mean) * inv;
        hr[j] = h;
        const float a = h * m[gain + j] + m[bias + j];
        orow[j] = relu && a < 0.0f ? 0.0f : a;
      }
    }
  });
  return nullptr;
}

napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t bytes = 0;
  double v[11];
  if (!ReadArgs(env, info, 12, &data, &bytes, v)) return nullptr;
  const int64_t n = static_cast<int64_t>(v[0]), d = static_cast<int64_t>(v[1]);
  const bool relu = v[2] != 0;
  const int64_t dy = v[3], xHat = v[4], rstd = v[5], gain = v[6], out = v[7], dx = v[8],
                dGain = v[9], dBias = v[10];
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  if (n < 0 || d < 1 || !Inside(dy, n * d, floats) || !Inside(xHat, n * d, floats) ||
      !Inside(rstd, n, floats) || !Inside(gain, d, floats) || !Inside(out, n * d, floats) ||
      !Inside(dx, n * d, floats) || !Inside(dGain, d, floats) || !Inside(dBias, d, floats))
    return Throw(env, "layerNormGrad: shapes or offsets outside the buffer");
  float* m = static_cast<float*>(data);
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  // Per block: the column sums of dAffine * xHat and of dAffine, added in block order at the end.
  std::vector<float> partial(static_cast<size_t>(blocks * 2 * d), 0.0f);
  ParallelBlocks(blocks, n, d, [&](int64_t first, int64_t end) {
    std::vector<float> da(static_cast<size_t>(d));
    for (int64_t b = first; b < end; b++) {
      float* pg = partial.data() + b * 2 * d;
      float* pb = pg + d;
      for (int64_t r = b * kRowBlock; r < std::min(n, (b + 1) * kRowBlock); r++) {
        const float* dyr = m + dy + r * d;
        const float* hr = m + xHat + r * d;
        const float* orow = m + out + r * d;
        float meanDxHat = 0.0f, meanDxHatXHat = 0.0f;
        for (int64_t j = 0; j < d; j++) {
          const float a = relu && !(orow[j] > 0.0f) ? 0.0f : dyr[j];
          da[j] = a;
          pg[j] += a * hr[j];
          pb[j] += a;
          const float g = a * m[gain + j];
          meanDxHat += g;
          meanDxHatXHat += g * hr[j];
        }
        meanDxHat /= static_cast<float>(d);
        meanDxHatXHat /= static_cast<float>(d);
        const float inv = m[rstd + r];
        float* dxr = m + dx + r * d;
        for (int64_t j = 0; j < d; j++)
          dxr[j] = (da[j] * m[gain + j] - hr[j] * meanDxHatXHat - meanDxHat) * inv;
      }
    }
  });
  for (int64_t j = 0; j < d; j++) {
    float g = 0.0f, b = 0.0f;
    for (int64_t k = 0; k < blocks; k++) {
      g += partial[k * 2 * d + j];
      b += partial[k * 2 * d + d + j];
    }
    m[dGain + j] = g;
    m[dBias + j] = b;
  }
  return nullptr;
}

// A typed array's data and length, checked to be of `type`.
template <typename T>
bool TypedArray(napi_env env, napi_value value, napi_typedarray_type type, T** data,
                size_t* length) {
  bool is = false;
  napi_is_typedarray(env, value, &is);
  if (!is) return false;
  napi_typedarray_type actual;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &actual, length, &raw, nullptr, nullptr) != napi_ok ||
      actual != type)
    return false;
  *data = static_cast<T*>(raw);
  return true;
}

bool Int64Args(napi_env env, napi_value* args, size_t count, int64_t* out) {
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_int64(env, args[i], &out[i]) != napi_ok) return false;
  }
  return true;
}

// out[i * b + j] = sum over k < u of a[i * u + k] * y[j * u + k]: a [m x u] by [b x u]^T product
// in float64. Each entry of out is computed by one thread (OpenBLAS splits m and b, never u), so
// the result does not depend on the thread count.
napi_value CrossProduct(napi_env env, napi_callback_info info) {
  if (blas.dgemm == nullptr) return Throw(env, "crossProduct: the BLAS library has no cblas_dgemm");
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double *a = nullptr, *y = nullptr, *out = nullptr;
  size_t nA = 0, nY = 0, nOut = 0;
  int64_t v[3];
  if (argc != 6 || !TypedArray(env, argv[0], napi_float64_array, &a, &nA) ||
      !TypedArray(env, argv[1], napi_float64_array, &y, &nY) || !Int64Args(env, argv + 2, 3, v) ||
      !TypedArray(env, argv[5], napi_float64_array, &out, &nOut))
    return Throw(env, "crossProduct: expected (Float64Array, Float64Array, 3 numbers, Float64Array)");
  const int64_t m = v[0], u = v[1], b = v[2];
  if (m < 0 || u < 0 || b < 0 || m > INT32_MAX || u > INT32_MAX || b > INT32_MAX ||
      static_cast<int64_t>(nA) < m * u || static_cast<int64_t>(nY) < b * u ||
      static_cast<int64_t>(nOut) < m * b)
    return Throw(env, "crossProduct: sizes outside the arrays");
  if (m == 0 || b == 0) return nullptr;
  if (u == 0) {
    std::fill(out, out + m * b, 0.0);
    return nullptr;
  }
  blas.dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(b),
             static_cast<int>(u), 1.0, a, static_cast<int>(u), y, static_cast<int>(u), 0.0, out,
             static_cast<int>(b));
  return nullptr;
}

// The slots [from, to) of line l that argument i reads, inside [0, S).
bool WindowFits(int64_t T, int64_t S, int64_t B, int64_t L, int64_t A, int64_t i, int64_t l,
                int64_t from, int64_t to) {
  return T >= 0 && S > 0 && B >= 0 && L > 0 && A > 0 && i >= 0 && i < A && l >= 0 && l < L &&
         from >= 0 && from <= to && to <= S;
}

// args[t, l, i, b] += sum over slots j in [from, to) of z[t, l, j] * values[t, j, b], every task t.
napi_value MixArgs(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double* values = nullptr;
  float* z = nullptr;
  double* args = nullptr;
  size_t nValues = 0, nZ = 0, nArgs = 0;
  int64_t v[10];
  if (argc != 13 || !TypedArray(env, argv[0], napi_float64_array, &values, &nValues) ||
      !TypedArray(env, argv[1], napi_float32_array, &z, &nZ) ||
      !TypedArray(env, argv[2], napi_float64_array, &args, &nArgs) || !Int64Args(env, argv + 3, 10, v))
    return Throw(env, "mixArgs: expected (Float64Array, Float32Array, Float64Array, 10 numbers)");
  const int64_t T = v[0], S = v[1], B = v[2], L = v[3], LINES = v[4], A = v[5], i = v[6],
                l = v[7], from = v[8], to = v[9];
  if (!WindowFits(T, S, B, L, A, i, l, from, to) || l >= LINES ||
      static_cast<int64_t>(nValues) < T * S * B || static_cast<int64_t>(nZ) < T * L * S ||
      static_cast<int64_t>(nArgs) < T * LINES * A * B)
    return Throw(env, "mixArgs: sizes outside the arrays");
  ParallelBlocks(T, T * (to - from), B, [&](int64_t first, int64_t end) {
    for (int64_t t = first; t < end; t++) {
      double* x = args + ((t * LINES + l) * A + i) * B;
      const float* zr = z + (t * L + l) * S;
      const double* vt = values + t * S * B;
      for (int64_t j = from; j < to; j++) {
        const double zj = zr[j];
        const double* slot = vt + j * B;
        for (int64_t b = 0; b < B; b++) x[b] += zj * slot[b];
      }
    }
  });
  return nullptr;
}

// The gradient of MixArgs for dArgs [T, A, B]: dz[t, l, j] += sum over b of dArgs * values and
// dValues[t, j, b] += dArgs * z[t, l, j], every task t, in the order of the JavaScript loops.
napi_value MixArgsGrad(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double *values = nullptr, *dArgs = nullptr, *dValues = nullptr, *dz = nullptr;
  float* z = nullptr;
  size_t nValues = 0, nZ = 0, nDArgs = 0, nDValues = 0, nDz = 0;
  int64_t v[9];
  if (argc != 14 || !TypedArray(env, argv[0], napi_float64_array, &values, &nValues) ||
      !TypedArray(env, argv[1], napi_float32_array, &z, &nZ) ||
      !TypedArray(env, argv[2], napi_float64_array, &dArgs, &nDArgs) ||
      !TypedArray(env, argv[3], napi_float64_array, &dValues, &nDValues) ||
      !TypedArray(env, argv[4], napi_float64_array, &dz, &nDz) || !Int64Args(env, argv + 5, 9, v))
    return Throw(env, "mixArgsGrad: expected (Float64Array, Float32Array, 3 Float64Arrays, 9 numbers)");
  const int64_t T = v[0], S = v[1], B = v[2], L = v[3], A = v[4], i = v[5], l = v[6],
                from = v[7], to = v[8];
  if (!WindowFits(T, S, B, L, A, i, l, from, to) || static_cast<int64_t>(nValues) < T * S * B ||
      static_cast<int64_t>(nZ) < T * L * S || static_cast<int64_t>(nDArgs) < T * A * B ||
      static_cast<int64_t>(nDValues) < T * S * B || static_cast<int64_t>(nDz) < T * L * S)
    return Throw(env, "mixArgsGrad: sizes outside the arrays");
  ParallelBlocks(T, T * (to - from), B, [&](int64_t first, int64_t end) {
    for (int64_t t = first; t < end; t++) {
      const double* gx = dArgs + (t * A + i) * B;
      const float* zr = z + (t * L + l) * S;
      double* dzr = dz + (t * L + l) * S;
      const double* vt = values + t * S * B;
      double* dvt = dValues + t * S * B;
      for (int64_t j = from; j < to; j++) {
        const double zj = zr[j];
        const double* slot = vt + j * B;
        double* dslot = dvt + j * B;
        double dzj = 0;
        for (int64_t b = 0; b < B; b++) {
          dzj += gx[b] * slot[b];
          dslot[b] += gx[b] * zj;
        }
        dzr[j] += dzj;
      }
    }
  });
  return nullptr;
}

// The patches of a convolution's input as rows: cols[(n * OH + oh) * OW + ow, (kh * KW + kw) * C + c]
// = x[n, oh * sH + kh * dH - padTop, ow * sW + kw * dW - padLeft, c] (NHWC), 0 outside x. A GEMM
// of cols [N*OH*OW, KH*KW*C] by the filter [KH*KW*C, Cout] is then the convolution.
napi_value Im2col(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t bytes = 0;
  int64_t a[16];
  if (!ReadIntArgs(env, info, &data, &bytes, a)) return nullptr;
  const int64_t N = a[0], H = a[1], W = a[2], C = a[3], KH = a[4], KW = a[5], sH = a[6], sW = a[7],
                dH = a[8], dW = a[9], padTop = a[10], padLeft = a[11], OH = a[12], OW = a[13],
                x = a[14], cols = a[15];
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  if (N < 0 || H < 0 || W < 0 || C < 1 || KH < 1 || KW < 1 || sH < 1 || sW < 1 || dH < 1 ||
      dW < 1 || OH < 0 || OW < 0 || !Inside(x, N * H * W * C, floats) ||
      !Inside(cols, N * OH * OW * KH * KW * C, floats))
    return Throw(env, "im2col: shapes or offsets outside the buffer");
  float* m = static_cast<float*>(data);
  const float* in = m + x;
  float* out = m + cols;
  const int64_t depth = KH * KW * C;
  ParallelBlocks(N * OH, N * OH * OW, depth, [&](int64_t first, int64_t end) {
    for (int64_t row = first; row < end; row++) {
      const int64_t n = row / OH, oh = row % OH;
      for (int64_t ow = 0; ow < OW; ow++) {
        float* dst = out + ((n * OH + oh) * OW + ow) * depth;
        for (int64_t kh = 0; kh < KH; kh++) {
          const int64_t h = oh * sH + kh * dH - padTop;
          for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t w = ow * sW + kw * dW - padLeft;
            float* cell = dst + (kh * KW + kw) * C;
            if (h < 0 || h >= H || w < 0 || w >= W)
              std::memset(cell, 0, C * sizeof(float));
            else
              std::memcpy(cell, in + ((n * H + h) * W + w) * C, C * sizeof(float));
          }
        }
      }
    }
  });
  return nullptr;
}

// The gradient of a max-pool (NHWC, any window, strides and padding): each window's dy goes to
// the first maximum of the window in row-major order (padding never wins), as the cpu backend
// and kernels/max-pool-grad.ts route it. Images are split between the threads (overlapping
// windows of one image add into the same cells).
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t bytes = 0;
  int64_t a[15];
  if (!ReadIntArgs(env, info, &data, &bytes, a)) return nullptr;
  const int64_t N = a[0], H = a[1], W = a[2], C = a[3], OH = a[4], OW = a[5], KH = a[6],
                KW = a[7], sH = a[8], sW = a[9], padTop = a[10], padLeft = a[11], x = a[12],
                dy = a[13], dx = a[14];
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  if (N < 0 || H < 0 || W < 0 || C < 1 || OH < 0 || OW < 0 || KH < 1 || KW < 1 || sH < 1 ||
      sW < 1 || !Inside(x, N * H * W * C, floats) || !Inside(dy, N * OH * OW * C, floats) ||
      !Inside(dx, N * H * W * C, floats))
    return Throw(env, "maxPoolGrad: shapes or offsets outside the buffer");
  float* m = static_cast<float*>(data);
  ParallelBlocks(N, N * H * W, C, [&](int64_t first, int64_t end) {
    std::vector<float> best(static_cast<size_t>(C));
    std::vector<int64_t> at(static_cast<size_t>(C));
    for (int64_t n = first; n < end; n++) {
      float* dxn = m + dx + n * H * W * C;
      std::memset(dxn, 0, H * W * C * sizeof(float));
      const float* xn = m + x + n * H * W * C;
      for (int64_t oh = 0; oh < OH; oh++) {
        for (int64_t ow = 0; ow < OW; ow++) {
          std::fill(at.begin(), at.end(), int64_t{-1});
          for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t h = oh * sH + kh - padTop;
            if (h < 0 || h >= H) continue;
            for (int64_t kw = 0; kw < KW; kw++) {
              const int64_t w = ow * sW + kw - padLeft;
              if (w < 0 || w >= W) continue;
              const int64_t cell = h * W + w;
              const float* p = xn + cell * C;
              for (int64_t c = 0; c < C; c++) {
                if (at[c] < 0 || p[c] > best[c]) {
                  best[c] = p[c];
                  at[c] = cell;
                }
              }
            }
          }
          const float* g = m + dy + ((n * OH + oh) * OW + ow) * C;
          for (int64_t c = 0; c < C; c++)
            if (at[c] >= 0) dxn[at[c] * C + c] += g[c];
        }
      }
    }
  });
  return nullptr;
}

// One variable's Adam update in TF.js AdamOptimizer's float32 operations, in its order, each
// rounded to float32 as its own kernel would (no fused multiply-add: -ffp-contract=off):
//   m' = m b1 + g c1;  v' = v b2 + (g g) c2;  x' = (m' / a1) / (sqrt(v' / a2) + eps) (-lr) + x
// with c = 1 - b and a = 1 - beta^t, so the same bits as its dozen kernels, in one pass.
// Arguments: heap, n, x, m, v, g, x', m', v' (float offsets), b1, c1, b2, c2, a1, a2, eps, -lr.
napi_value Adam(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t bytes = 0;
  double a[16];
  if (!ReadArgs(env, info, 17, &data, &bytes, a)) return nullptr;
  const int64_t n = static_cast<int64_t>(a[0]);
  const int64_t x = a[1], m = a[2], v = a[3], g = a[4], xOut = a[5], mOut = a[6], vOut = a[7];
  const float b1 = a[8], c1 = a[9], b2 = a[10], c2 = a[11], a1 = a[12], a2 = a[13], eps = a[14],
              step = a[15];
  const int64_t floats = static_cast<int64_t>(bytes / sizeof(float));
  for (int64_t offset : {x, m, v, g, xOut, mOut, vOut})
    if (n < 0 || !Inside(offset, n, floats))
      return Throw(env, "adam: sizes or offsets outside the buffer");
  float* f = static_cast<float*>(data);
  for (int64_t i = 0; i < n; i++) {
    const float gi = f[g + i];
    const float mScaled = f[m + i] * b1;
    const float gScaled = gi * c1;
    const float m1 = mScaled + gScaled;
    const float g2 = gi * gi;
    const float vScaled = f[v + i] * b2;
    const float g2Scaled = g2 * c2;
    const float v1 = vScaled + g2Scaled;
    const float mHat = m1 / a1;
    const float vHat = v1 / a2;
    const float root = std::sqrt(vHat);
    const float denominator = root + eps;
    const float ratio = mHat / denominator;
    const float delta = ratio * step;
    f[xOut + i] = delta + f[x + i];
    f[mOut + i] = m1;
    f[vOut + i] = v1;
  }
  return nullptr;
}

// Init runs once per JavaScript context (the main thread, and each worker thread that loads the
// addon: runtime/host-thread.ts); the library is opened once for all of them, so a worker's load
// never rewrites what the main thread is reading.
std::once_flag openedOnce;

napi_value Init(napi_env env, napi_value exports) {
  std::call_once(openedOnce, OpenBlas);
  napi_property_descriptor properties[] = {
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setKernelThreads", nullptr, SetKernelThreads, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormGrad", nullptr, LayerNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossProduct", nullptr, CrossProduct, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mixArgs", nullptr, MixArgs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mixArgsGrad", nullptr, MixArgsGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"im2col", nullptr, Im2col, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
