#pragma STDC FP_CONTRACT OFF

#include "train_math.h"

#include <math.h>
#include <string.h>

double lb_train_pow2(int e) {
  uint64_t bits = (uint64_t)(e + 1023) << 52;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

double lb_train_exp(double x) {
  if (x < -745.0) {
    return 0.0;
  }
  if (x > 709.0) {
    return (double)INFINITY;
  }
  /* x = k ln2 + r, |r| <= ln2 / 2, the split of ln2 keeps k ln2 exact */
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  double kd = floor(x * 1.44269504088896338700 + 0.5);
  int k = (int)kd;
  double r = (x - kd * ln2_hi) - kd * ln2_lo;
  double term = 1.0, sum = 1.0;
  for (int n = 1; n <= 13; n++) {
    term = term * r / n;
    sum += term;
  }
  /* 2^k in two factors: k reaches -1075 */
  int k1 = k / 2, k2 = k - k1;
  return sum * lb_train_pow2(k1) * lb_train_pow2(k2);
}

double lb_train_log(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int e = (int)((bits >> 52) & 0x7ff);
  if (e == 0) { /* subnormal: scale into the normals */
    return lb_train_log(x * lb_train_pow2(64)) - 64 * 6.93147180559945309417e-01;
  }
  e -= 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m > 1.41421356237309504880) {
    m = m / 2, e += 1;
  }
  /* log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172 */
  double s = (m - 1.0) / (m + 1.0), s2 = s * s, power = s, sum = 0.0;
  for (int n = 1; n <= 41; n += 2) {
    sum += power / n;
    power *= s2;
  }
  return 2.0 * sum + e * 6.93147180559945309417e-01;
}

double lb_train_cospi(double u) {
  double sign = 1.0;
  if (u > 0.5) {
    u = 1.0 - u, sign = -1.0; /* cos(pi - a) = -cos(a) */
  }
  double a = u * 3.14159265358979323846, a2 = a * a, term = 1.0, sum = 1.0;
  for (int n = 1; n <= 12; n++) {
    term = -term * a2 / ((2.0 * n - 1.0) * (2.0 * n));
    sum += term;
  }
  return sign * sum;
}

double lb_train_sqrt(double x) { return sqrt(x); }

uint64_t lb_train_splitmix(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
