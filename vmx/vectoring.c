/* vectoring.c - pure decisions about an exit's IDT-vectoring information (vectoring.h). */
#include "vmx/vectoring.h"
#include "vmx/vmcs.h"

u32 vectoring_redeliver(u32 idt, u16 status_entry, u16 status_exit, bool if_set)
{
	u32 svi = status_exit >> 8, type = (idt >> INTR_INFO_TYPE_SHIFT) & 7;
	if (!svi || svi == (u32)(status_entry >> 8) || !if_set ||
	    (type == INTR_TYPE_EXT_INTR && (idt & INTR_INFO_VECTOR_MASK) == svi))
		return idt;
	return INTR_INFO_VALID | (INTR_TYPE_EXT_INTR << INTR_INFO_TYPE_SHIFT) | svi;
}
