/*
 * mip6ike: Mip6IkeHelper, the ns-3-style helper that installs the mobility
 * agents (Mip6IkeAgent) on home agents and mobile nodes, and turns on the
 * pcaps and the Wireshark key logs.
 *
 *   Mip6IkeHelper mip6;
 *   mip6.SetScheme("msrd");
 *   mip6.SetHomeNetwork(Ipv6Address("2001::1"), Ipv6Address("2001::"), 64);
 *   mip6.SetAgentAttribute("NullCipher", BooleanValue(true));
 *   mip6.EnableKeyLog("out");               // before the Install calls
 *   Ptr<Mip6IkeAgent> ha = mip6.InstallHomeAgent(haNode, haHomeDevice);
 *   Mip6IkeAgentContainer mns = mip6.InstallMobileNode(mnNodes, Ipv6Address("2001::5"));
 *   mip6.InstallCorrespondentNode(cnNode);
 *   mip6.AssignStreams(100);
 *   Mip6IkeHelper::EnablePcapAll("out/handover");
 */
#ifndef MIP6IKE_HELPER_H
#define MIP6IKE_HELPER_H

#include "mip6ike-agent.h"
#include "mip6ike-ike-daemon.h"
#include "mip6ike-msrd.h"
#include "mip6ike-pfkey-bus.h"

#include "ns3/attribute.h"
#include "ns3/ipv6-address.h"
#include "ns3/net-device.h"
#include "ns3/node-container.h"
#include "ns3/node.h"
#include "ns3/object-factory.h"
#include "ns3/ptr.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

/** The agents a helper installed, in installation order. */
typedef std::vector<Ptr<Mip6IkeAgent>> Mip6IkeAgentContainer;

/**
 * \ingroup mip6ike
 * \brief Installs Mip6IkeAgent objects (one per node) configured from one
 * ObjectFactory: scheme, home network, and any agent attribute.
 */
class Mip6IkeHelper
{
  public:
    Mip6IkeHelper();

    /**
     * \brief The scheme every agent installed from now on runs: "msrd",
     * "renegotiate", "migrate", "migrate-kmaddress", "mobike", "static".
     * Fatal error for another name (check with IsScheme() first).
     * \param [in] scheme The scheme's name.
     */
    void SetScheme(const std::string& scheme);
    /** \return the scheme set (default "msrd") */
    std::string GetScheme() const;
    /**
     * \param [in] name A name.
     * \return true if it names one of the six schemes.
     */
    static bool IsScheme(const std::string& name);
    /** \return the six scheme names, comma-separated (for messages). */
    static std::string SchemeNames();

    /**
     * \brief Home agent address and home prefix for every agent.
     * \param [in] haAddress The HA's address on the home link.
     * \param [in] prefix The home prefix.
     * \param [in] prefixLength Its length.
     */
    void SetHomeNetwork(Ipv6Address haAddress, Ipv6Address prefix, uint8_t prefixLength = 64);

    /**
     * \brief Set any Mip6IkeAgent attribute for the agents installed from
     * now on (NullCipher, ProcessingMode, DadMode, Psk, IkeProposal, ...).
     * \param [in] name Attribute name.
     * \param [in] value Its value.
     */
    void SetAgentAttribute(const std::string& name, const AttributeValue& value);

    /**
     * \brief Write the Wireshark key logs (ikev2_decryption_table, esp_sa)
     * of every agent installed from now on into dir (an agent reads its
     * attributes at installation: call this first; fatal error otherwise).
     * \param [in] dir An existing directory.
     */
    void EnableKeyLog(const std::string& dir);

    /**
     * \brief Set a Mip6IkeIkeDaemon attribute (StartTime, StopTime) for
     * the IKE daemons installed from now on (one per HA and MN node,
     * added before its agent; default: start at 0, never stop).
     * \param [in] name Attribute name.
     * \param [in] value Its value.
     */
    void SetIkeDaemonAttribute(const std::string& name, const AttributeValue& value);

    /**
     * \brief A text log of every PF_KEY message of every agent installed
     * so far: "<dir>/<node>-pfkey.log" (node = its Names name or
     * "node<id>"), one line per message (Mip6IkePfkeyBus::EnableLog).
     * \param [in] dir An existing directory.
     */
    void EnablePfkeyLog(const std::string& dir);

    /**
     * \brief A text log of every IKE datagram of every IKE daemon
     * installed so far: "<dir>/<node>-ike.log" (Mip6IkeIkeDaemon::EnableAsciiIke).
     * \param [in] dir An existing directory.
     */
    void EnableAsciiIke(const std::string& dir);

    /**
     * \brief Install the home agent.
     * \param [in] node The HA (with IPv6 and an address on the home link).
     * \param [in] homeDevice Its device on the home link.
     * \return the agent.
     */
    Ptr<Mip6IkeAgent> InstallHomeAgent(Ptr<Node> node, Ptr<NetDevice> homeDevice);

    /**
     * \brief Install one mobile node.  With the static scheme the home
     * agents installed before are provisioned with its home address
     * (Mip6IkeAgent::AddMobileNode): install the HA first.
     * \param [in] node The MN (with IPv6 on its access device).
     * \param [in] hoa Its home address.
     * \return the agent.
     */
    Ptr<Mip6IkeAgent> InstallMobileNode(Ptr<Node> node, Ipv6Address hoa);

    /**
     * \brief Install mobile nodes with consecutive home addresses.
     * \param [in] nodes The MNs.
     * \param [in] firstHoa The first one's home address; the next get +1, +2, ...
     * \return their agents, in the nodes' order.
     */
    Mip6IkeAgentContainer InstallMobileNode(NodeContainer nodes, Ipv6Address firstHoa);

    /**
     * \brief A correspondent node.  Without route optimisation (none of
     * the schemes here uses it) a CN is a plain IPv6 host that talks to
     * the MN's home address; this only checks that the node has IPv6.
     * \param [in] node The CN.
     */
    void InstallCorrespondentNode(Ptr<Node> node);

    /**
     * \brief Assign fixed random variable streams to every agent this
     * helper installed.
     * \param [in] stream First stream index.
     * \return number of streams used.
     */
    int64_t AssignStreams(int64_t stream);

    /** \return every agent this helper installed, HA(s) and MNs. */
    const Mip6IkeAgentContainer& GetAgents() const;

    /**
     * \brief A pcap of every CSMA, point-to-point and Wi-Fi device of
     * every node: "<prefix>-<node>-<device>.pcap", as the device helpers
     * name them.
     * \param [in] prefix Path prefix (e.g. "out/handover").
     */
    static void EnablePcapAll(const std::string& prefix);

    /**
     * \param [in] a An address.
     * \param [in] n An offset.
     * \return a + n in the last 32 bits.
     */
    static Ipv6Address AddressPlus(Ipv6Address a, uint32_t n);

  private:
    /**
     * \param [in] role "mn" or "ha".
     * \return a new agent from the factory, with role and key-log set.
     */
    Ptr<Mip6IkeAgent> Create(const std::string& role);

    /** \param [in] node add an IKE daemon from m_ikeFactory to it */
    void InstallIkeDaemon(Ptr<Node> node);
    /** \param [in] node a node \param [in] suffix file suffix \param [in] dir directory \return the path */
    static std::string LogPath(Ptr<Node> node, const std::string& dir, const std::string& suffix);

    ObjectFactory m_factory;        //!< agent attributes
    ObjectFactory m_ikeFactory;     //!< IKE daemon attributes
    std::string m_scheme;           //!< scheme
    std::string m_keyLogDir;        //!< key-log directory, or ""
    Mip6IkeAgentContainer m_agents; //!< installed agents
    Mip6IkeAgentContainer m_homeAgents; //!< installed HAs (static scheme: provisioned with each MN)
};

} // namespace ns3

#endif /* MIP6IKE_HELPER_H */
