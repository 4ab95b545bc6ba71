"""slique.regmap: the Markdown register map is up to date, and the constants module imports and
agrees with the descriptions."""

import importlib.util
from pathlib import Path

import pytest

from slique import regmap
from slique.hdl.registers import Field, Register, RegisterArray, RegisterMap
from slique.sim.register_bank import SAMPLE_REGISTERS


ROOT = Path(__file__).resolve().parent.parent
ALL = [*regmap.descriptions(), SAMPLE_REGISTERS]


def test_docs_registers_md_is_up_to_date():
    path = ROOT / regmap.DOCUMENT_PATH
    assert path.exists(), f"{path} is missing: run `python -m slique.regmap`"
    assert path.read_text() == regmap.document(), \
        f"{path} is out of date: run `python -m slique.regmap` and commit it"


def test_command_writes_and_checks(tmp_path, capsys):
    assert regmap.main(["--root", str(tmp_path), "--check"]) == 1
    assert regmap.main(["--root", str(tmp_path)]) == 0
    assert regmap.main(["--root", str(tmp_path), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / regmap.DOCUMENT_PATH).read_text() == regmap.document()


@pytest.mark.parametrize("description", ALL, ids=lambda description: description.name)
def test_constants_module_imports_and_agrees(tmp_path, description):
    path = tmp_path / f"{description.name}_registers.py"
    path.write_text(regmap.constants(description, source="tests"))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.REGISTER_WIDTH == 32
    for register in description:
        if isinstance(register, RegisterArray):
            offsets = [getattr(module, register.name)(index) for index in range(register.count)]
            assert offsets == [register.offset_of(index) for index in range(register.count)]
            assert getattr(module, f"{register.name}_COUNT") == register.count
            with pytest.raises(IndexError):
                getattr(module, register.name)(register.count)
        else:
            assert getattr(module, register.name) == register.offset
        assert getattr(module, f"{register.name}_RESET") == register.reset
        for field in ([] if register.single else register.fields):
            prefix = f"{register.name}_{field.name}"
            assert getattr(module, f"{prefix}_SHIFT") == field.lsb
            assert getattr(module, f"{prefix}_WIDTH") == field.width
            assert getattr(module, f"{prefix}_MASK") == field.mask
    in_memory = regmap.constants_module(description)
    def numbers(namespace):
        return {name: value for name, value in vars(namespace).items()
                if name.isupper() and isinstance(value, int)}
    assert numbers(in_memory) == numbers(module)


def test_sample_constants_as_a_driver_uses_them():
    regs = regmap.constants_module(SAMPLE_REGISTERS)
    assert regs.RDT(1) == 0xC058 and regs.RXDCTL(0) == 0xC028 and regs.RETA(3) == 0x5C0C
    assert regs.RXDCTL_ENABLE_MASK == 0x0200_0000 and regs.RXDCTL_PTHRESH_SHIFT == 0
    assert (regs.CTRL_RESET & regs.CTRL_MODE_MASK) >> regs.CTRL_MODE_SHIFT == 2
    assert regs.EICR == 0x1580 and regs.MPC == 0x4010


@pytest.mark.parametrize("description", ALL, ids=lambda description: description.name)
def test_markdown_lists_every_register_and_field(description):
    text = regmap.markdown(description)
    assert text.startswith(f"## {description.name}\n")
    for register in description:
        assert f"| `{register.name}` |" in text
        if isinstance(register, RegisterArray):
            assert f"0x{register.offset:04X} + 0x{register.stride:02X}·n" in text
        else:
            assert f"`0x{register.offset:04X}`" in text
        for field in ([] if register.single else register.fields):
            assert f"| {field.bits_text} | `{field.name}` | {field.access} |" in text


def test_markdown_shows_reset_values_and_access():
    text = regmap.markdown(SAMPLE_REGISTERS)
    assert "| `0x5000` | `SCRATCH` | rw | `0xFFFFFFFF` |" in text
    assert "| `0x1524` | `EIMS` | w1s | `0x00000000` |" in text
    assert "| `0x0008` | `STATUS` | r | - |" in text
    assert "| 3:1 | `MODE` | rw | `0x2` |" in text
    assert "| 31 | `SWRESET` | w | - |" in text
    document = regmap.document([SAMPLE_REGISTERS])
    for mode in ["rw", "r", "w", "rc", "w1c", "w1s"]:
        assert f"| `{mode}` |" in document


def test_constant_name_clash_is_refused():
    clash = RegisterMap("clash", [
        Register("A_B", 0x0, fields=[Field("C", 0, "rw")]),
        Register("A", 0x4, fields=[Field("B_C", 0, "rw")]),
    ])
    with pytest.raises(ValueError, match="two constants are named A_B_C_SHIFT"):
        regmap.constants(clash)
