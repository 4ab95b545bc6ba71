"""Gateware: Amaranth components, one per module."""

from .zero_slique import ZeroSlique
from .bounded_slique import BoundedSlique, choose_storage
from .systolic_storage import SystolicStorage
from .ring_storage import RingStorage
from .burst_admission import BurstAdmission
from .sideline_reorder import SidelineReorder
from .register_bank import RegisterBank
from .registers import Field, Register, RegisterArray, RegisterMap
from .trace_stream import TraceStream
from .header_parser import HeaderParser
from .toeplitz import Toeplitz
from .flow_table import FlowTable
from .flow_demux import FlowDemux
from .packet_admission import PacketAdmission
from .flow_pipeline import FlowPipeline
from .registered_block import RegisteredBlock
from .uart_rx import UartRx
from .uart_tx import UartTx
from .uart_bridge import UartBridge
from .packet_generator import PacketGenerator


__all__ = ["ZeroSlique", "BoundedSlique", "choose_storage", "SystolicStorage", "RingStorage", "BurstAdmission", "SidelineReorder",
           "RegisterBank", "RegisterMap", "Register", "RegisterArray", "Field", "TraceStream",
           "HeaderParser", "Toeplitz", "FlowTable", "FlowDemux",
           "PacketAdmission", "FlowPipeline", "RegisteredBlock", "UartRx", "UartTx", "UartBridge",
           "PacketGenerator"]
