/*
 * Stand-in for bcryptprimitives.dll under Wine versions that lack it.
 *
 * Rust's standard library (1.78 and later) takes its randomness from
 * ProcessPrng in bcryptprimitives.dll. Older Wine releases do not ship
 * that export, and every Rust program then fails to start. This DLL
 * provides ProcessPrng on top of advapi32's SystemFunction036
 * (RtlGenRandom). It is used only to run the test suite under Wine.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
