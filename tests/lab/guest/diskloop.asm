; diskloop.asm: boot sector that loops forever on BIOS disk I/O: read 8 sectors at CHS 0/0/1,
; write them back at CHS 0/0/9. Gives real virtio-blk reads and writes without a kernel.
; Build: nasm -f bin -o diskloop.img diskloop.asm && truncate -s 1M diskloop.img
; SPDX-License-Identifier: MIT
        bits 16
        org 0x7c00
drive   equ 0x7e00              ; byte just past the boot sector: the BIOS boot drive (DL)
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov [drive], dl
again:  mov ax, 0x0208          ; AH=2 read, AL=8 sectors
        mov cx, 0x0001          ; cylinder 0, sector 1
        mov dl, [drive]
        mov dh, 0               ; head 0
        mov bx, 0x8000          ; ES:BX buffer
        int 0x13
        mov ax, 0x0308          ; AH=3 write, AL=8 sectors
        mov cx, 0x0009          ; cylinder 0, sector 9
        mov dl, [drive]
        mov dh, 0
        mov bx, 0x8000
        int 0x13
        jmp again
        times 510 - ($ - $$) db 0
        dw 0xaa55
