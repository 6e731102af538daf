; spin.asm: boot sector whose only instruction is "jmp $", so the guest's vCPU runs 100 % forever.
; Build: nasm -f bin -o spin.img spin.asm && truncate -s 1M spin.img
; (SeaBIOS refuses a 512-byte disk: "could not read the boot disk"; pad it to 1 MiB.)
; SPDX-License-Identifier: MIT
        bits 16
        org 0x7c00
spin:   jmp spin
        times 510 - ($ - $$) db 0
        dw 0xaa55
