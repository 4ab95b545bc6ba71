"""Verification: golden models, traffic, the lockstep scoreboard and the cocotb runner."""

from .zero_slique import ZeroSlique
from .bounded_slique import BoundedSlique
from .systolic_storage import SystolicStorage
from .ring_storage import RingStorage
from .burst_admission import BurstAdmission
from .sideline_reorder import SidelineReorder
from .register_bank import RegisterBank
from .registers import RegisterFile
from .trace_stream import TraceStream
from .header_parser import HeaderParser
from .toeplitz import Toeplitz
from .flow_table import FlowTable
from .flow_demux import FlowDemux
from .packet_admission import PacketAdmission
from .flow_pipeline import FlowPipeline
from .registered_block import RegisteredBlock
from .uart_bridge import UartBridge
from .packet_generator import PacketGenerator
from ._ports import SliquePorts


__all__ = ["ZeroSlique", "BoundedSlique", "SystolicStorage", "RingStorage", "SliquePorts", "BurstAdmission", "SidelineReorder",
           "RegisterBank", "RegisterFile", "TraceStream",
           "HeaderParser", "Toeplitz", "FlowTable", "FlowDemux",
           "PacketAdmission", "FlowPipeline", "RegisteredBlock", "UartBridge", "PacketGenerator"]
