/* attrs.h: compiler attributes used across proxtop (GCC and clang).
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_ATTRS_H
#define FORMATS_ATTRS_H

#define ATTR_FORMAT(type, fmt, first) __attribute__((format(type, fmt, first)))
#define ATTR_NONNULL                  __attribute__((nonnull))
#define ATTR_WUR                      __attribute__((warn_unused_result))
#define ATTR_NORETURN                 __attribute__((noreturn))
#define ATTR_UNUSED                   __attribute__((unused))
#define ATTR_MALLOC                   __attribute__((malloc))

#endif
