/* sampler_fixture.h: fake host roots for the sampler's unit tests, built from the real captures
 * in datasets/proc, and the JSON printer's output of one tick.
 * SPDX-License-Identifier: MIT */
#ifndef TESTS_SAMPLER_FIXTURE_H
#define TESTS_SAMPLER_FIXTURE_H

#include <jansson.h>

#include "sampler.h"

#define SF_DATASET PROXTOP_SOURCE_DIR "/datasets/proc"
#define SF_QEMU_PID 10713 /* the pid of the qemu-pve-100 capture */

/* Runs a shell command; the test fails when it does. */
void sf_run(const char *cmd);

/* A fresh temporary root (tag names it) with ROOT/proc holding the host-vm capture's host files
 * and ROOT/sys its sysfs tree. Returns a malloc'd path. */
char *sf_host_root(const char *tag);

/* Adds the qemu-pve-100 capture as ROOT/proc/10713 (stat, status, io, cmdline, cgroup, task). */
void sf_add_qemu(const char *root);

/* The JSON printer's object for the sampler's last tick (written through a file in dir). */
json_t *sf_tick_json(struct sampler *s, const char *dir);

#endif
