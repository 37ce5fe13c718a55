/* Where lowbit-gen looks for its templates, targets and the runtime's headers by default. */
#ifndef LB_GEN_PATHS_H
#define LB_GEN_PATHS_H

/* A compiled-in default folder: an absolute path is used as it is (a generator built for its
 * source tree); a relative one is taken from the folder of the running executable, so that an
 * installed lowbit-gen finds <prefix>/share/lowbit wherever the prefix is copied. The result is
 * resolved (no "..") when the folder exists, which keeps banner paths short. */
const char *lb_gen_default_path(const char *path);

#endif
