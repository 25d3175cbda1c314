//! The Alveo cards as data: part, reference clocks, the QSFP28 cage used for 100 GbE, the PCIe
//! Gen3 x16 endpoint, the free-running clock that feeds the CMAC's init/DRP clock, and the
//! few board pins a NIC must drive. Everything the XDC, the board top and the Vivado TCL need
//! comes from here.
//!
//! Sources (pin locations, I/O standards, clock frequencies):
//! - AMD/Xilinx Alveo U250 master XDC (alveo-u250-xdc.xdc, UG1289 "Alveo Data Center
//!   Accelerator Card Platforms" / UG1301 U200/U250 user guide), cross-checked against the
//!   open-source Corundum board files fpga/mqnic/AU250/fpga_100g/fpga.xdc and
//!   Xilinx open-nic-shell constr/au250/pins.xdc and cmac_usplus_0_au250.tcl.
//! - Alveo U280: UG1314 (U280 user guide) and its master XDC, cross-checked against Corundum
//!   fpga/mqnic/AU280/fpga_100g/fpga.xdc and open-nic-shell constr/au280.
//! - Alveo U55C: UG1469 (U55C user guide) and its master XDC, cross-checked against Corundum's
//!   U55C/U55N/C1100 fpga.xdc and open-nic-shell constr/au55c and cmac_usplus_0_au55c.tcl.
//!
//! Choices made here:
//! - QSFP28 cage 0 carries 100 GbE (CAUI-4, 4 x 25.78125 Gb/s, RS-FEC). On U250 and U280 its
//!   GT reference is MGTREFCLK0 of the cage's quad, 156.25 MHz from the board's SI570 at its
//!   power-on default, which needs no clock-select pins driven; on U55C it is MGTREFCLK0 of
//!   quad 130, 161.1328125 MHz from the SI5394.
//! - PCIe lanes are not LOC'ed here: the XDMA IP places its GT channels from pcie_blk_locn /
//!   select_quad (ip/xdma.tcl); only its reference clock and PERST# are board constraints.

/// A single-ended board pin.
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    pub port: &'static str,
    pub loc: &'static str,
    pub iostandard: &'static str,
    /// Further XDC properties, "NAME value" pairs separated by spaces (e.g. "PULLUP true").
    pub props: &'static str,
    /// Bank/net name from the source document.
    pub note: &'static str,
}

/// A differential clock input. `port` is the P side's port name without `_p`/`_n`.
#[derive(Debug, Clone, Copy)]
pub struct DiffClock {
    pub port: &'static str,
    pub loc_p: &'static str,
    pub loc_n: &'static str,
    /// None for GT reference clocks (dedicated MGTREFCLK pins take no IOSTANDARD).
    pub iostandard: Option<&'static str>,
    pub mhz: f64,
    pub note: &'static str,
}

/// The QSFP28 cage and the CMAC hard block next to its GT quad.
#[derive(Debug, Clone, Copy)]
pub struct Qsfp {
    pub refclk: DiffClock,
    pub rx_p: [&'static str; 4],
    pub rx_n: [&'static str; 4],
    pub tx_p: [&'static str; 4],
    pub tx_n: [&'static str; 4],
    /// GTYE4_CHANNEL sites of lanes 1..4 (PG203 LANEn_GT_LOC).
    pub gt_lanes: [&'static str; 4],
    /// PG203 CMAC_CORE_SELECT.
    pub cmac_site: &'static str,
    pub quad_note: &'static str,
}

/// The PCIe endpoint: reference clock, PERST#, integrated block and first GT quad.
#[derive(Debug, Clone, Copy)]
pub struct Pcie {
    pub refclk: DiffClock,
    pub perst_n: Pin,
    /// PG195 pcie_blk_locn.
    pub blk_locn: &'static str,
    /// PG195 select_quad (the quad of lane 0).
    pub select_quad: &'static str,
}

/// A constant the top drives on a board pin (module select, resets, thermal trip...).
#[derive(Debug, Clone, Copy)]
pub struct ConstOut {
    pub pin: Pin,
    pub value: bool,
    pub why: &'static str,
}

/// What a status LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedSignal {
    /// The CMAC reports the QSFP28 link aligned (stat_rx_aligned).
    QsfpLinkUp,
    /// XDMA reports the PCIe link up (user_lnk_up).
    PcieLinkUp,
    /// Sticky: the receive FIFO overflowed (cannot happen at line rate; see boards/README.md).
    RxOverflow,
}

#[derive(Debug, Clone, Copy)]
pub struct Led {
    pub pin: Pin,
    pub signal: LedSignal,
}

#[derive(Debug, Clone, Copy)]
pub struct Board {
    /// Short name used on the command line and in file names (`BOARD=au250`).
    pub name: &'static str,
    pub title: &'static str,
    pub part: &'static str,
    pub sources: &'static [&'static str],
    pub pcie: Pcie,
    pub qsfp: Qsfp,
    /// Free-running clock for the CMAC's init_clk / DRP clock.
    pub sysclk: DiffClock,
    /// BUFGCE_DIV divide from `sysclk` to the init clock (1..8).
    pub init_div: u32,
    pub const_outputs: &'static [ConstOut],
    /// Status LEDs (driven asynchronously, false paths).
    pub leds: &'static [Led],
    /// Device configuration properties (`set_property NAME value [current_design]`).
    pub config: &'static [(&'static str, &'static str)],
    /// Configuration flash as Vivado names it (create_hw_cfgmem -mem_dev).
    pub flash_part: &'static str,
    /// Where the user image goes in the flash (the golden image sits below it).
    pub flash_user_offset: u32,
    /// JTAG device name in the Vivado hardware manager.
    pub hw_device: &'static str,
}

impl Board {
    pub fn init_mhz(&self) -> f64 {
        self.sysclk.mhz / self.init_div as f64
    }
}

const SPI_CONFIG: &[(&str, &str)] = &[
    ("CFGBVS", "GND"),
    ("CONFIG_VOLTAGE", "1.8"),
    ("CONFIG_MODE", "SPIx4"),
    ("BITSTREAM.GENERAL.COMPRESS", "TRUE"),
    ("BITSTREAM.CONFIG.CONFIGFALLBACK", "ENABLE"),
    ("BITSTREAM.CONFIG.EXTMASTERCCLK_EN", "DISABLE"),
    ("BITSTREAM.CONFIG.CONFIGRATE", "63.8"),
    ("BITSTREAM.CONFIG.SPI_BUSWIDTH", "4"),
    ("BITSTREAM.CONFIG.SPI_32BIT_ADDR", "YES"),
    ("BITSTREAM.CONFIG.SPI_FALL_EDGE", "YES"),
    ("BITSTREAM.CONFIG.UNUSEDPIN", "PULLUP"),
];

pub const AU250: Board = Board {
    name: "au250",
    title: "Alveo U250",
    part: "xcu250-figd2104-2L-e",
    sources: &[
        "UG1301 Alveo U200/U250 user guide; alveo-u250-xdc.xdc (AMD/Xilinx master XDC)",
        "cross-checked: Corundum fpga/mqnic/AU250/fpga_100g/fpga.xdc, ip/cmac_usplus_0.tcl",
        "cross-checked: Xilinx open-nic-shell constr/au250/pins.xdc, cmac_usplus_0_au250.tcl",
    ],
    pcie: Pcie {
        refclk: DiffClock { port: "pcie_refclk", loc_p: "AM11", loc_n: "AM10", iostandard: None, mhz: 100.0, note: "MGTREFCLK0_226, PEX_REFCLK from the edge connector" },
        perst_n: Pin { port: "pcie_perst_n", loc: "BD21", iostandard: "LVCMOS12", props: "PULLUP true", note: "bank 64, PCIE_PERST_LS" },
        blk_locn: "X1Y2",
        select_quad: "GTY_Quad_227",
    },
    qsfp: Qsfp {
        refclk: DiffClock { port: "qsfp_refclk", loc_p: "M11", loc_n: "M10", iostandard: None, mhz: 156.25, note: "MGTREFCLK0_231, QSFP0_CLOCK from the SI570 (156.25 MHz at power-on)" },
        rx_p: ["N4", "M2", "L4", "K2"],
        rx_n: ["N3", "M1", "L3", "K1"],
        tx_p: ["N9", "M7", "L9", "K7"],
        tx_n: ["N8", "M6", "L8", "K6"],
        gt_lanes: ["X1Y44", "X1Y45", "X1Y46", "X1Y47"],
        cmac_site: "CMACE4_X0Y8",
        quad_note: "QSFP0, GTY quad 231 (GTYE4_COMMON_X1Y11)",
    },
    sysclk: DiffClock { port: "sysclk", loc_p: "AY37", loc_n: "AY38", iostandard: Some("LVDS"), mhz: 300.0, note: "SYSCLK0_300 (DDR4 C0 reference), bank 42" },
    init_div: 3,
    const_outputs: &[
        ConstOut { pin: Pin { port: "qsfp_modsel_l", loc: "BE16", iostandard: "LVCMOS12", props: "", note: "QSFP0_MODSELL" }, value: false, why: "select the module (active low)" },
        ConstOut { pin: Pin { port: "qsfp_reset_l", loc: "BE17", iostandard: "LVCMOS12", props: "", note: "QSFP0_RESETL" }, value: true, why: "module out of reset (active low)" },
        ConstOut { pin: Pin { port: "qsfp_lpmode", loc: "BD18", iostandard: "LVCMOS12", props: "", note: "QSFP0_LPMODE" }, value: false, why: "high-power mode" },
    ],
    leds: &[
        Led { pin: Pin { port: "led_qsfp_link", loc: "BC21", iostandard: "LVCMOS12", props: "SLEW SLOW DRIVE 8", note: "STATUS_LED0" }, signal: LedSignal::QsfpLinkUp },
        Led { pin: Pin { port: "led_pcie_link", loc: "BB21", iostandard: "LVCMOS12", props: "SLEW SLOW DRIVE 8", note: "STATUS_LED1" }, signal: LedSignal::PcieLinkUp },
        Led { pin: Pin { port: "led_rx_overflow", loc: "BA20", iostandard: "LVCMOS12", props: "SLEW SLOW DRIVE 8", note: "STATUS_LED2" }, signal: LedSignal::RxOverflow },
    ],
    config: SPI_CONFIG,
    flash_part: "mt25qu01g-spi-x1_x2_x4",
    flash_user_offset: 0x0100_2000,
    hw_device: "xcu250_0",
};

pub const AU280: Board = Board {
    name: "au280",
    title: "Alveo U280",
    part: "xcu280-fsvh2892-2L-e",
    sources: &[
        "UG1314 Alveo U280 user guide; alveo-u280-xdc.xdc (AMD/Xilinx master XDC)",
        "cross-checked: Corundum fpga/mqnic/AU280/fpga_100g/fpga.xdc, ip/cmac_usplus_0.tcl",
        "cross-checked: Xilinx open-nic-shell constr/au280/pins.xdc, cmac_usplus_0_au280.tcl",
    ],
    pcie: Pcie {
        refclk: DiffClock { port: "pcie_refclk", loc_p: "AR15", loc_n: "AR14", iostandard: None, mhz: 100.0, note: "MGTREFCLK0_225, PEX_REFCLK for x16" },
        perst_n: Pin { port: "pcie_perst_n", loc: "BH26", iostandard: "LVCMOS18", props: "PULLUP true", note: "PCIE_PERST_LS" },
        blk_locn: "PCIE4C_X1Y0",
        select_quad: "GTY_Quad_227",
    },
    qsfp: Qsfp {
        refclk: DiffClock { port: "qsfp_refclk", loc_p: "T42", loc_n: "T43", iostandard: None, mhz: 156.25, note: "MGTREFCLK0_134, QSFP0 clock from the SI570 (156.25 MHz at power-on)" },
        rx_p: ["L53", "K51", "J53", "H51"],
        rx_n: ["L54", "K52", "J54", "H52"],
        tx_p: ["L48", "L44", "K46", "J48"],
        tx_n: ["L49", "L45", "K47", "J49"],
        gt_lanes: ["X0Y40", "X0Y41", "X0Y42", "X0Y43"],
        cmac_site: "CMACE4_X0Y6",
        quad_note: "QSFP0, GTY quad 134",
    },
    sysclk: DiffClock { port: "sysclk", loc_p: "G31", loc_n: "F31", iostandard: Some("LVDS"), mhz: 100.0, note: "SYS_CLK 100 MHz, bank 75" },
    init_div: 1,
    const_outputs: &[
        ConstOut { pin: Pin { port: "hbm_cattrip", loc: "D32", iostandard: "LVCMOS18", props: "PULLDOWN true", note: "HBM_CATTRIP" }, value: false, why: "no HBM catastrophic trip: a 1 here makes the card controller cut power (AR 72926)" },
    ],
    leds: &[],
    config: SPI_CONFIG,
    flash_part: "mt25qu01g-spi-x1_x2_x4",
    flash_user_offset: 0x0100_2000,
    hw_device: "xcu280_0",
};

pub const AU55C: Board = Board {
    name: "au55c",
    title: "Alveo U55C",
    part: "xcu55c-fsvh2892-2L-e",
    sources: &[
        "UG1469 Alveo U55C user guide; alveo-u55c-xdc.xdc (AMD/Xilinx master XDC)",
        "cross-checked: Corundum U55C/U55N/C1100 fpga.xdc",
        "cross-checked: Xilinx open-nic-shell constr/au55c/pins.xdc, cmac_usplus_0_au55c.tcl",
    ],
    pcie: Pcie {
        refclk: DiffClock { port: "pcie_refclk", loc_p: "AR15", loc_n: "AR14", iostandard: None, mhz: 100.0, note: "MGTREFCLK0_225, PEX_REFCLK for x16" },
        perst_n: Pin { port: "pcie_perst_n", loc: "BF41", iostandard: "LVCMOS18", props: "PULLUP true", note: "PCIE_PERST_LS" },
        blk_locn: "PCIE4C_X1Y0",
        select_quad: "GTY_Quad_227",
    },
    qsfp: Qsfp {
        refclk: DiffClock { port: "qsfp_refclk", loc_p: "AD42", loc_n: "AD43", iostandard: None, mhz: 161.1328125, note: "MGTREFCLK0_130, QSFP0 clock from the SI5394 OUT0" },
        rx_p: ["AD51", "AC53", "AC49", "AB51"],
        rx_n: ["AD52", "AC54", "AC50", "AB52"],
        tx_p: ["AD46", "AC44", "AB46", "AA48"],
        tx_n: ["AD47", "AC45", "AB47", "AA49"],
        gt_lanes: ["X0Y24", "X0Y25", "X0Y26", "X0Y27"],
        cmac_site: "CMACE4_X0Y3",
        quad_note: "QSFP0, GTY quad 130",
    },
    sysclk: DiffClock { port: "sysclk", loc_p: "BK10", loc_n: "BL10", iostandard: Some("LVDS"), mhz: 100.0, note: "SYSCLK 100 MHz from the SI5394 OUT3" },
    init_div: 1,
    const_outputs: &[
        ConstOut { pin: Pin { port: "hbm_cattrip", loc: "BE45", iostandard: "LVCMOS18", props: "PULLDOWN true", note: "HBM_CATTRIP" }, value: false, why: "no HBM catastrophic trip: a 1 here makes the card controller cut power (AR 72926)" },
    ],
    leds: &[
        Led { pin: Pin { port: "led_qsfp_link", loc: "BK11", iostandard: "LVCMOS18", props: "SLEW SLOW DRIVE 8", note: "QSFP0 link status LED, green" }, signal: LedSignal::QsfpLinkUp },
        Led { pin: Pin { port: "led_rx_overflow", loc: "BJ11", iostandard: "LVCMOS18", props: "SLEW SLOW DRIVE 8", note: "QSFP0 link status LED, yellow" }, signal: LedSignal::RxOverflow },
        Led { pin: Pin { port: "led_pcie_link", loc: "BL13", iostandard: "LVCMOS18", props: "SLEW SLOW DRIVE 8", note: "QSFP0 activity LED" }, signal: LedSignal::PcieLinkUp },
    ],
    config: SPI_CONFIG,
    flash_part: "mt25qu01g-spi-x1_x2_x4",
    flash_user_offset: 0x0100_2000,
    hw_device: "xcu55c_0",
};

pub const ALL: &[Board] = &[AU250, AU280, AU55C];

pub fn by_name(name: &str) -> Option<&'static Board> {
    ALL.iter().find(|b| b.name == name)
}
